"""Extract the translatable messages of a package the way ``make messages`` does, so a
test can demand that the Russian catalog translates every one of them."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
METHODS = [
    ("**/locale/**", "ignore"),
    ("**.py", "python"),
    ("**.html", "jinja2"),
    ("**.js", "ignore"),
]


def extracted_messages(package_dir: Path) -> set[str]:
    messages: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(package_dir),
        method_map=METHODS,
        keywords=KEYWORDS,
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        if isinstance(message, tuple):
            messages.add(message[0])
        elif message:
            messages.add(message)
    return messages
