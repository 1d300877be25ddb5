"""The garbage collector and the objects the bot keeps for its whole life.

Once started, the bot holds millions of objects that live as long as it does: its modules,
aiogram's models, the routing and moderation classifiers' tables. CPython's full (generation 2)
collections walk all of them each time, with the event loop stopped: 220-360 ms, every few
seconds under load (measured with `gc.callbacks` during `python -m bench --scenario capacity`),
which was the event loop's lag at p99. `gc.freeze()` sets the objects alive at that moment
aside: later collections walk only what came after. Set-aside objects are still freed by
reference counting when nothing refers to them any more (a reloaded classifier's old tables).
"""

from __future__ import annotations

import gc
import logging
import time

logger = logging.getLogger(__name__)


def freeze_long_lived(after: str, *, collect: bool) -> None:
    """Set every object alive now aside from later collections, after a full collection
    when `collect` (it stops the event loop for tens of milliseconds: only before the bot
    serves; without it, garbage alive at this moment is kept too, a bounded amount)."""
    started = time.perf_counter()
    if collect:
        gc.collect()
    gc.freeze()
    logger.info(
        "memory: %d long-lived objects set aside from garbage collection after %s (%.0f ms)",
        gc.get_freeze_count(),
        after,
        (time.perf_counter() - started) * 1000,
    )
