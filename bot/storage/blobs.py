"""Images and files on disk, each kept once under its SHA-256 (content-addressed).

The database records what a blob is (`blobs` table); this store keeps the bytes. Writing a
blob that exists already costs nothing; a write is atomic (temporary file + rename), so a
crash never leaves half a file under a valid name. File I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self._root = root

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self._root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store `data` (hashing, unless its hash is given, and writing in a worker thread);
        returns its SHA-256."""
        return await asyncio.to_thread(self._store, data, sha256)

    def _store(self, data: bytes, sha256: str | None) -> str:
        sha256 = sha256 or sha256_of(data)
        self._write(self.path(sha256), data)
        return sha256

    async def get(self, sha256: str) -> bytes:
        """Raises FileNotFoundError if the blob is not (or no longer) on disk."""
        return await asyncio.to_thread(self.path(sha256).read_bytes)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
