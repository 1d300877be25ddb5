"""Nothing heavy is imported before it is needed: loading the bot's code imports no SDK or
library that only some configurations use (each costs start-up time and memory)."""

from __future__ import annotations

import subprocess
import sys

ONLY_WHEN_USED = {
    "redis": "[redis] (several processes)",
    "anthropic": "a provider of type anthropic",
    "mcp": "[mcp] servers",
    "matplotlib": "the first /stats chart",
    "sklearn": "training a classifier (a child process)",
    "scipy": "calibrating thresholds (a child process)",
    "numpy": "training a classifier (a child process)",
    "joblib": "nothing any more",
}


def test_loading_the_bot_imports_no_optional_library() -> None:
    code = (
        "import sys, bot.__main__, bot.bootstrap, bot.runtime\n"
        f"print(' '.join(m for m in {sorted(ONLY_WHEN_USED)!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert out == [], {name: ONLY_WHEN_USED[name] for name in out}
