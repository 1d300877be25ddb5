"""Chats and users the process has read, kept until a write of this process changes them.

The per-update context (who wrote, in which chat, with which settings) would otherwise cost a
read transaction per update. Every change made through the repositories is reported by the
database once it is committed (`UnitOfWork.changed`), and the changed records are dropped
here, so a later read sees them again. A read that raced with a change does not put a stale
record back: each key has a generation, and a record read before a change of its key is not
kept.

With several processes on one database (`[redis]`), each process's committed changes are
broadcast to the others, which drop their copies too (see `bot.coordination`, docs/scaling.md).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from bot.storage.dto import Chat, User

CHAT = "chat"
USER = "user"
Key = tuple[str, int]


class RecordCache:
    def __init__(self, size: int = 100_000) -> None:
        self._size = size
        self._records: OrderedDict[Key, Chat | User] = OrderedDict()
        self._generations: dict[Key, int] = {}
        self._epoch = 0
        self._floor = 0  # reads begun before the last `clear` are not kept

    def chat(self, chat_id: int) -> Chat | None:
        record = self._get((CHAT, chat_id))
        return record if isinstance(record, Chat) else None

    def user(self, user_id: int) -> User | None:
        record = self._get((USER, user_id))
        return record if isinstance(record, User) else None

    def stamp(self) -> int:
        """Take before reading what `fill` will keep."""
        return self._epoch

    def fill(self, stamp: int, chat: Chat | None = None, user: User | None = None) -> None:
        """Keep records read since `stamp`, unless their key changed meanwhile."""
        if chat is not None:
            self._keep((CHAT, chat.id), chat, stamp)
        if user is not None:
            self._keep((USER, user.id), user, stamp)

    def _keep(self, key: Key, record: Chat | User, stamp: int) -> None:
        if stamp < self._floor or self._generations.get(key, -1) > stamp:
            return  # changed while it was read: the copy may be stale
        self._records[key] = record
        self._records.move_to_end(key)
        if len(self._records) > self._size:
            self._records.popitem(last=False)

    def changed(self, keys: Iterable[Key]) -> None:
        """Committed changes: drop these records."""
        self._epoch += 1
        for key in keys:
            self._records.pop(key, None)
            self._generations[key] = self._epoch
        if len(self._generations) > 4 * self._size:
            self._generations.clear()  # old generations only matter to reads in flight

    def clear(self) -> None:
        """Drop every record (changes made elsewhere may have been missed)."""
        self._epoch += 1
        self._records.clear()
        self._generations.clear()
        self._floor = self._epoch

    def _get(self, key: Key) -> Chat | User | None:
        record = self._records.get(key)
        if record is not None:
            self._records.move_to_end(key)
        return record

    def __len__(self) -> int:
        return len(self._records)
