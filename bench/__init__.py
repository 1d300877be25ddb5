"""Load benchmark: the real bot process against the Telegram and LLM sandboxes.

Run it with ``python -m bench`` (``--help`` for the options); see docs/benchmark.md.
"""
