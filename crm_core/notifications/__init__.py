"""Per-recipient delivery rows of the bot's notifications to employees."""
