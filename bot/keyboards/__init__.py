"""Keyboard builders and typed callback data."""
