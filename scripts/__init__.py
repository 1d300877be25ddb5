"""Developer scripts (not part of the bot): `python -m scripts.sandbox_screenshot`."""
