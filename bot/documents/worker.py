"""PDF work in a pool of worker processes, so a hostile file cannot hurt the bot.

pdfium (:mod:`bot.documents.pdf`) runs in ``spawn``-ed processes of a
``ProcessPoolExecutor``: a crash only breaks the pool, an endless loop is cut by a per-job
timeout, and a memory bomb hits the worker's address-space limit instead of the bot. The event
loop only awaits futures; results are unpickled by the executor's own thread.

Jobs wait for a free worker *here* (a semaphore of ``workers`` slots) rather than in the
executor's queue, so a job's timeout only counts its own run time, and a broken or killed pool
takes down only the jobs that were really running in it. Concurrent callers (chats) then take
turns chunk by chunk instead of one long document blocking the rest.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.documents.pdf import PdfRejectedError, pdf_info, pdf_page_texts, pdf_render_pages

logger = logging.getLogger(__name__)

T = TypeVar("T")
Progress = Callable[[int, int], Awaitable[None]]
"""Called with (pages_done, pages_to_read) after each chunk of pages."""

WORKER_MEMORY_LIMIT = 2 * 1024**3
"""Address-space limit of a worker process (bytes): a memory bomb fails there, not in the bot."""
CLOSE_GRACE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class PdfText:
    pages_total: int
    pages_read: int
    """``min(pages_total, max_pages)``."""
    page_texts: tuple[str, ...]
    """One cleaned text per page read."""

    @property
    def text(self) -> str:
        """The pages read, each preceded by a line ``--- page N ---`` (1-based)."""
        return "\n\n".join(
            f"--- page {number} ---\n{text.strip(chr(10))}"
            for number, text in enumerate(self.page_texts, start=1)
        )

    @property
    def chars_per_page(self) -> float:
        """Mean non-whitespace characters per page read: about 0 for a scanned PDF."""
        if not self.page_texts:
            return 0.0
        return sum(len("".join(text.split())) for text in self.page_texts) / len(self.page_texts)


def _init_worker() -> None:
    """Runs first in each worker process."""
    # Ctrl-C reaches the whole process group: the parent shuts the pool down, not the worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import resource  # POSIX only

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_LIMIT, WORKER_MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not POSIX, or not allowed
        pass


class _Pool:
    """One executor and what happened to it, so that a job knows why it broke."""

    def __init__(self, workers: int) -> None:
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
        )
        self.running = 0
        self.killed = False
        """Killed by us after another job's timeout (its other jobs are innocent)."""
        self.running_at_break: int | None = None

    def note_break(self) -> None:
        """Called by each job that sees the pool broken; the first one counts the jobs."""
        if self.running_at_break is None:
            self.running_at_break = self.running

    def others_to_blame(self) -> bool:
        """Whether the job that saw the break may be innocent (so it deserves a retry)."""
        return self.killed or (self.running_at_break or 0) > 1

    def kill(self) -> None:
        """Stop the workers now, whatever they are doing.

        ``ProcessPoolExecutor`` has no public way to stop a running job: ``shutdown()`` waits
        for it (or, with ``wait=False``, leaves it running forever). ``_processes`` (pid to
        ``Process``) is the only handle on the workers, so we kill them through it; the
        executor then sees dead workers and fails their futures with ``BrokenProcessPool``.
        """
        self.killed = True
        for process in list((self.executor._processes or {}).values()):
            process.kill()
        self.executor.shutdown(wait=False, cancel_futures=True)


class DocumentWorker:
    """PDF text and page images, computed in worker processes (created on first use)."""

    def __init__(
        self, *, workers: int = 1, timeout_seconds: float = 60.0, chunk_pages: int = 25
    ) -> None:
        if workers < 1 or chunk_pages < 1 or timeout_seconds <= 0:
            raise ValueError("workers, chunk_pages and timeout_seconds must be positive")
        self._workers = workers
        self._timeout = timeout_seconds
        self._chunk = chunk_pages
        self._slots = asyncio.Semaphore(workers)
        self._pool: _Pool | None = None

    async def pdf_text(
        self, path: Path, *, max_pages: int, progress: Progress | None = None
    ) -> PdfText:
        """Text of the first ``max_pages`` pages; raises :class:`PdfRejectedError`."""
        if max_pages < 0:
            raise ValueError("max_pages must not be negative")
        info = await self._run(pdf_info, str(path))
        to_read = min(info.pages, max_pages)
        texts: list[str] = []
        for first in range(0, to_read, self._chunk):
            last = min(first + self._chunk, to_read)
            texts.extend(await self._run(pdf_page_texts, str(path), first, last))
            if progress is not None:
                await progress(len(texts), to_read)
        return PdfText(pages_total=info.pages, pages_read=to_read, page_texts=tuple(texts))

    async def render_pages(self, path: Path, pages: list[int], *, max_side: int) -> list[bytes]:
        """JPEG images of ``pages`` (0-based), longer side at most ``max_side`` pixels."""
        return await self._run(pdf_render_pages, str(path), list(pages), max_side)

    async def close(self) -> None:
        """Stop the workers (running jobs fail); waits a few seconds, then kills them."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        shutdown = asyncio.to_thread(pool.executor.shutdown, wait=True, cancel_futures=True)
        try:
            async with asyncio.timeout(CLOSE_GRACE_SECONDS):
                await shutdown
        except TimeoutError:
            pool.kill()

    def _current_pool(self) -> _Pool:
        if self._pool is None:
            self._pool = _Pool(self._workers)
        return self._pool

    def _discard(self, pool: _Pool, *, kill: bool = False) -> None:
        if self._pool is pool:
            self._pool = None
        if kill:
            pool.kill()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Any blocking reader (DOCX, text decoding) in a worker, with the same timeout, memory
        limit and crash isolation as PDFs; failures of the worker raise PdfRejectedError."""
        return await self._run(function, *args)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """One job in a worker; a job broken by another job's failure is retried once."""
        for attempt in (1, 2):
            async with self._slots:
                pool = self._current_pool()
                try:
                    # In a thread: submit() may fork and exec a new worker (about 10 ms).
                    future = await asyncio.to_thread(pool.executor.submit, function, *args)
                except BrokenProcessPool:  # broken by another job, not yet discarded by it
                    self._discard(pool)
                    continue
                except RuntimeError:  # "cannot schedule new futures after shutdown"
                    if self._pool is pool:
                        raise
                    continue  # killed by another job's timeout, or closed, meanwhile
                try:
                    return await self._wait(pool, future, function.__name__)
                except BrokenProcessPool:
                    self._discard(pool)
                    if attempt == 2 or not pool.others_to_blame():
                        logger.warning("a PDF worker died running %s", function.__name__)
                        raise PdfRejectedError("corrupt", "the PDF crashed its worker") from None
        raise PdfRejectedError("corrupt", "the PDF worker pool keeps breaking")

    async def _wait(self, pool: _Pool, future: Future[T], name: str) -> T:
        pool.running += 1
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self._timeout)
        except TimeoutError:
            logger.warning("a PDF job (%s) timed out after %s s", name, self._timeout)
            self._discard(pool, kill=True)
            raise PdfRejectedError("corrupt", "the PDF took too long to process") from None
        except asyncio.CancelledError:
            if not future.done():  # no one waits for it any more, and it may never end
                self._discard(pool, kill=True)
            raise
        except BrokenProcessPool:
            pool.note_break()
            raise
        except MemoryError:  # raised in the worker, which hit WORKER_MEMORY_LIMIT
            raise PdfRejectedError("corrupt", "the PDF needs too much memory") from None
        finally:
            pool.running -= 1
