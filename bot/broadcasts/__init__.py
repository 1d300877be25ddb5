"""Broadcasts: an operator's message to every user who has not opted out (see runner)."""
