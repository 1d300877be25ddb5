"""Shared by every tier: the processes the tests start reuse compiled bytecode.

Where the environment forbids writing bytecode (``PYTHONDONTWRITEBYTECODE``, as on our CI
machine), every bot process the tests start would compile the bot and its libraries from
source again: about a second of CPU each, some sixty times a run. Their bytecode goes to a
cache directory of its own instead (``PYTHONPYCACHEPREFIX``), so the source tree stays clean
as the setting intends. The benchmark does the same for its bot processes (bench/stack.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / f"bot-tests-pycache-{os.getuid()}")
    )
