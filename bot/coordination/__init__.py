"""What several bot processes must agree on, behind one narrow interface.

`Coordination` has two implementations, chosen only in `bot.bootstrap`: `LocalCoordination`
(one process; everything in its memory, the default) and `RedisCoordination` (several
processes sharing one Redis and one PostgreSQL database). Handlers and services see only the
interface, so no feature works in one mode alone. What goes through it:

- Stop: a Stop pressed in any process ends the answer wherever it is generated;
- invalidations: a committed change of a chat or user record, or a character edited from
  Telegram, reaches every process's caches;
- FSM state (`/setsystem`'s next message, the character editor's steps): aiogram's storage;
- the Telegram pacer's shared budgets (global and per chat) and 429 blocks: `SharedBudgets`.

Each chat's order across processes comes from the update queue (`bot.queue`): one consumer per
partition; within a process `ChatLocks` keep it as before.
"""

from bot.coordination.ports import Coordination, Invalidation, SharedBudgets, StopHandler

__all__ = ["Coordination", "Invalidation", "SharedBudgets", "StopHandler"]
