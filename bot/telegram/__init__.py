"""Everything that knows Telegram's limits: formatting, splitting, sending, progress display."""
