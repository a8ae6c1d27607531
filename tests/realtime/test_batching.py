"""The intake: batches sealed by size, by acknowledgements and by age; backpressure; order."""

from __future__ import annotations

import datetime as dt
import threading

from oee_pipelines.warehouse import TelemetryRecord
from realtime.batching import Intake
from realtime.source import Decoded

TS = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def _decoded(*values: float) -> Decoded:
    return Decoded(telemetry=[TelemetryRecord("M1", "speed", TS, v) for v in values])


def test_a_full_batch_is_sealed_and_keeps_sources_apart() -> None:
    intake = Intake(max_values=3, max_latency_s=3600, max_pending=4, max_acks=100)
    intake.put("a", _decoded(1, 2))
    intake.put("b", _decoded(3))
    intake.put("a", _decoded(4))
    batch = intake.take(timeout=0)
    assert batch is not None and batch.size == 3
    assert [r.value for r in batch.records["a"].telemetry] == [1, 2]
    assert [r.value for r in batch.records["b"].telemetry] == [3]
    assert intake.take(timeout=0) is None  # value 4 waits for its batch to fill or age


def test_an_old_batch_is_sealed_by_its_age() -> None:
    intake = Intake(max_values=1000, max_latency_s=0.01, max_pending=4, max_acks=100)
    intake.put("a", _decoded(1))
    batch = intake.take(timeout=10)
    assert batch is not None and batch.size == 1


def test_acknowledgements_seal_a_batch_and_run_in_arrival_order() -> None:
    acked: list[int] = []
    intake = Intake(max_values=1000, max_latency_s=3600, max_pending=4, max_acks=3)
    for i in range(3):
        intake.put("a", Decoded(), lambda i=i: acked.append(i))
    batch = intake.take(timeout=0)
    assert acked == []
    batch.acknowledge()
    assert acked == [0, 1, 2]


def test_put_blocks_while_the_writer_is_behind() -> None:
    intake = Intake(max_values=1, max_latency_s=3600, max_pending=1, max_acks=100)
    intake.put("a", _decoded(1))  # sealed: the one pending batch
    blocked = threading.Thread(target=intake.put, args=("a", _decoded(2)))
    blocked.start()
    blocked.join(timeout=0.2)
    assert blocked.is_alive()
    assert intake.take(timeout=0).records["a"].telemetry[0].value == 1
    blocked.join(timeout=10)
    assert not blocked.is_alive()
    assert intake.take(timeout=0).records["a"].telemetry[0].value == 2


def test_a_closed_intake_refuses_new_records_and_hands_over_the_rest() -> None:
    intake = Intake(max_values=1000, max_latency_s=3600, max_pending=4, max_acks=100)
    intake.put("a", _decoded(1))
    intake.close()
    assert intake.put("a", _decoded(2)) is False
    assert not intake.drained
    assert intake.take(timeout=0).size == 1
    assert intake.drained
