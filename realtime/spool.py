"""A bounded on-disk queue of batches, for while the warehouse cannot take them.

One file per batch, named by a growing sequence number so that replay keeps the arrival order.
A file is written under a temporary name, fsync'd, renamed and its directory fsync'd: once
`append` returns, the batch survives `kill -9` and a power cut, and the service may acknowledge
its messages. A temporary file left by a crash was never acknowledged and is removed on start.
"""

from __future__ import annotations

import fcntl
import logging
import os
import pickle
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from oee_pipelines.errors import ConfigError
from realtime.logs import log
from realtime.source import Decoded

_SUFFIX = ".batch"
_TEMPORARY = ".tmp"
_UNREADABLE = ".unreadable"


class SpoolFull(Exception):
    """The spool has reached its size limit; nothing was written."""


@dataclass(frozen=True)
class SpooledBatch:
    path: Path
    records: Mapping[str, Decoded]
    """Decoded records by source name, as the writer takes them."""


class Spool:
    """Batches of records by source, in arrival order, at most `max_bytes` on disk.

    An empty spool takes one batch of any size: a batch larger than the whole limit would
    otherwise be refused forever, and intake would never resume. One thread appends while
    another replays: the methods hold a lock.
    """

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = open(directory / ".lock", "w")  # noqa: SIM115 (held until close)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._lock.close()
            raise ConfigError(f"{directory}: the spool is in use by another process") from exc
        for leftover in directory.glob(f"*{_TEMPORARY}"):
            leftover.unlink()
        self._files = sorted(directory.glob(f"*{_SUFFIX}"))
        self._sizes = {path: path.stat().st_size for path in self._files}
        self.size = sum(self._sizes.values())
        self._next = int(self._files[-1].stem) + 1 if self._files else 0
        self._guard = threading.Lock()

    def close(self) -> None:
        """Let another process take the spool over (the OS does it, too, when we are killed)."""
        self._lock.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._files)

    def append(self, records: Mapping[str, Decoded]) -> None:
        """Write one batch durably, or raise SpoolFull."""
        data = pickle.dumps(dict(records), protocol=pickle.HIGHEST_PROTOCOL)
        with self._guard:
            if self._files and self.size + len(data) > self.max_bytes:
                raise SpoolFull(f"{self.directory}: {self.size} of {self.max_bytes} bytes used")
            path = self.directory / f"{self._next:016d}{_SUFFIX}"
            temporary = path.with_suffix(_TEMPORARY)
            with open(temporary, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            temporary.rename(path)
            _fsync_directory(self.directory)
            self._next += 1
            self._files.append(path)
            self._sizes[path] = len(data)
            self.size += len(data)

    def oldest(self) -> SpooledBatch | None:
        """The first batch still waiting; an unreadable file is set aside under another name."""
        with self._guard:
            while self._files:
                path = self._files[0]
                try:
                    return SpooledBatch(path, pickle.loads(path.read_bytes()))
                except (OSError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
                    kept = path.with_suffix(_UNREADABLE)
                    path.rename(kept)
                    log(logging.ERROR, "spool.unreadable", file=kept, error=exc)
                    self._forget(path)
            return None

    def remove(self, batch: SpooledBatch) -> None:
        """Forget a batch once it is committed to the warehouse."""
        with self._guard:
            batch.path.unlink()
            self._forget(batch.path)

    def _forget(self, path: Path) -> None:
        self._files.remove(path)
        self.size -= self._sizes.pop(path)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
