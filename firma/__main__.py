from firma.cli import main

main()
