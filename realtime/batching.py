"""From many small decoded messages to few large writes, with backpressure.

Sources (the paho network thread of each MQTT source, a poller) `put` what they decoded together
with the acknowledgement that must wait until it is durable. The writer `take`s sealed batches.
A batch is sealed when it holds `max_values` records or `max_acks` unacknowledged messages, or
when its first record has waited `max_latency_s`. When `max_pending` sealed batches wait for
the writer, `put` blocks: a source stops reading from its socket rather than drop anything, and
the broker keeps the messages. The writer takes whatever is sealed at once, as one write.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from realtime.source import Decoded

Ack = Callable[[], None]


@dataclass
class Batch:
    records: dict[str, Decoded] = field(default_factory=dict)
    """Decoded records by source name (the writer writes one source at a time)."""
    acks: list[Ack] = field(default_factory=list)
    size: int = 0
    opened: float = 0.0
    """time.monotonic() of its first record, for the latency limit."""

    def add(self, source: str, decoded: Decoded, ack: Ack | None) -> None:
        if source in self.records:
            self.records[source].extend(decoded)
        else:
            self.records[source] = decoded
        if ack is not None:
            self.acks.append(ack)
        self.size += len(decoded)

    def absorb(self, later: Batch) -> None:
        """Take over a later batch's records and acknowledgements, keeping their order."""
        for source, decoded in later.records.items():
            self.add(source, decoded, None)
        self.acks.extend(later.acks)

    def acknowledge(self) -> None:
        """Tell every source its messages are durable, in the order they arrived."""
        for ack in self.acks:
            ack()


class Intake:
    """The bounded hand-over from sources (any thread) to the writer (one thread)."""

    def __init__(
        self, max_values: int, max_latency_s: float, max_pending: int, max_acks: int
    ) -> None:
        self.max_values = max_values
        self.max_latency_s = max_latency_s
        self.max_pending = max_pending
        self.max_acks = max_acks
        self._open = Batch()
        self._sealed: deque[Batch] = deque()
        self._changed = threading.Condition()
        self._closed = False

    def put(self, source: str, decoded: Decoded, ack: Ack | None = None) -> bool:
        """Add one message's records; blocks while the writer is behind. False once closed."""
        with self._changed:
            while len(self._sealed) >= self.max_pending and not self._closed:
                self._changed.wait()
            if self._closed:
                return False
            opening = not self._has_open()
            if opening:
                self._open.opened = time.monotonic()
            self._open.add(source, decoded, ack)
            if opening:
                self._changed.notify_all()  # the writer now has a deadline to wait for
            if self._open.size >= self.max_values or len(self._open.acks) >= self.max_acks:
                self._seal()
            return True

    def take(self, timeout: float) -> Batch | None:
        """Everything sealed, as one batch, waiting at most `timeout` seconds for something.

        While the writer is busy, batches queue up; it then takes them together, in one larger
        write, so that a slow warehouse gets fewer, larger writes instead of falling behind.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                now = time.monotonic()
                if (
                    not self._sealed
                    and self._has_open()
                    and (self._closed or now >= self._open.opened + self.max_latency_s)
                ):
                    self._seal()
                if self._sealed:
                    batch = self._sealed.popleft()
                    while self._sealed:
                        batch.absorb(self._sealed.popleft())
                    self._changed.notify_all()
                    return batch
                if now >= deadline:
                    return None
                due = self._open.opened + self.max_latency_s if self._has_open() else deadline
                self._changed.wait(max(0.0, min(deadline, due) - now))

    def close(self) -> None:
        """Refuse further messages (their senders keep them); what was put is still taken."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    @property
    def drained(self) -> bool:
        """Closed, and everything that was put has been taken."""
        with self._changed:
            return self._closed and not self._sealed and not self._has_open()

    def _has_open(self) -> bool:
        return bool(self._open.records or self._open.acks)

    def _seal(self) -> None:
        self._sealed.append(self._open)
        self._open = Batch()
        self._changed.notify_all()
