"""The spool: durable, ordered, bounded, one process at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from oee_pipelines.errors import ConfigError
from oee_pipelines.warehouse import DeadLetter, TelemetryRecord
from realtime.source import Decoded
from realtime.spool import Spool, SpoolFull

TS = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def _batch(value: float) -> dict[str, Decoded]:
    letter = DeadLetter("s", "realtime", "bad", b"\xff", {"topic": "t"})
    return {"s": Decoded(telemetry=[TelemetryRecord("M1", "t", TS, value)], dead_letters=[letter])}


def test_batches_come_back_in_order_after_a_restart(tmp_path: Path) -> None:
    with Spool(tmp_path, max_bytes=1 << 20) as spool:
        for value in (1.0, 2.0, 3.0):
            spool.append(_batch(value))
        spool.remove(spool.oldest())
    (tmp_path / "0000000000000099.tmp").write_bytes(b"half a batch, never acknowledged")

    with Spool(tmp_path, max_bytes=1 << 20) as reopened:
        assert len(reopened) == 2
        assert reopened.oldest().records == _batch(2.0)
        reopened.append(_batch(4.0))
        values = []
        while (batch := reopened.oldest()) is not None:
            values.append(batch.records["s"].telemetry[0].value)
            reopened.remove(batch)
        assert values == [2.0, 3.0, 4.0]
        assert reopened.size == 0
    assert not list(tmp_path.glob("*.tmp"))


def test_a_full_spool_refuses_a_batch_and_writes_nothing(tmp_path: Path) -> None:
    with Spool(tmp_path, max_bytes=600) as spool:
        spool.append(_batch(1.0))
        with pytest.raises(SpoolFull):
            spool.append(_batch(2.0))
        assert len(spool) == 1


def test_an_empty_spool_takes_a_batch_larger_than_its_limit(tmp_path: Path) -> None:
    with Spool(tmp_path, max_bytes=10) as spool:
        spool.append(_batch(1.0))
        with pytest.raises(SpoolFull):
            spool.append(_batch(2.0))
        spool.remove(spool.oldest())
        spool.append(_batch(3.0))
        assert spool.oldest().records == _batch(3.0)


def test_an_unreadable_batch_is_set_aside_not_deleted(tmp_path: Path) -> None:
    with Spool(tmp_path, max_bytes=1 << 20) as spool:
        spool.append(_batch(1.0))
        spool.append(_batch(2.0))
        first = sorted(tmp_path.glob("*.batch"))[0]
        first.write_bytes(b"garbage")
        assert spool.oldest().records == _batch(2.0)
    assert first.with_suffix(".unreadable").read_bytes() == b"garbage"


def test_one_process_at_a_time(tmp_path: Path) -> None:
    with (
        Spool(tmp_path, max_bytes=1 << 20),
        pytest.raises(ConfigError, match="in use by another process"),
    ):
        Spool(tmp_path, max_bytes=1 << 20)
    Spool(tmp_path, max_bytes=1 << 20).close()
