"""The record cache: dropped records are read again; a read begun before a drop is not kept."""

from __future__ import annotations

from bot.storage.cache import RecordCache
from bot.storage.dto import Chat


def chat(chat_id: int, model: str | None = None) -> Chat:
    return Chat(chat_id, "private", None, model, None, None, None, None, None)


def test_a_changed_record_is_dropped_and_a_racing_read_not_kept() -> None:
    cache = RecordCache()
    cache.fill(cache.stamp(), chat=chat(1, "old"))
    stamp = cache.stamp()  # a read starts
    cache.changed({("chat", 1)})  # a change commits meanwhile
    cache.fill(stamp, chat=chat(1, "old"))  # the read ends with what it saw
    assert cache.chat(1) is None


def test_clear_drops_everything_and_reads_begun_before_it() -> None:
    """Another process's changes may have been missed: nothing cached may be trusted."""
    cache = RecordCache()
    cache.fill(cache.stamp(), chat=chat(1), user=None)
    cache.fill(cache.stamp(), chat=chat(2))
    before = cache.stamp()
    cache.clear()
    assert (cache.chat(1), cache.chat(2), len(cache)) == (None, None, 0)
    cache.fill(before, chat=chat(3))
    assert cache.chat(3) is None
    cache.fill(cache.stamp(), chat=chat(3, "new"))
    assert cache.chat(3) == chat(3, "new")
