"""The MES sync against the simulated MES over real HTTP, REST and SOAP alike."""

from __future__ import annotations

import pytest

from simulator.servers.mes import SimulatedMes
from tests.mes.conftest import LATER, Run, configured, expected, failure, sync_log, tables

pytestmark = pytest.mark.slow  # real HTTP, real warehouse, Dagster runs


def test_a_full_sync_loads_exactly_what_the_mes_holds(warehouse, database_url, mes, resource, run):
    assert run(resource).success
    assert tables(database_url) == expected(mes.holdings())
    [(status, read, written, error)] = sync_log(database_url)
    assert (status, error) == ("success", None)
    holdings = mes.holdings()
    assert read == sum(len(records) for records in vars(holdings).values())
    assert written > 0


def test_an_incremental_sync_loads_exactly_what_the_mes_holds_later(
    warehouse, database_url, mes: SimulatedMes, resource, run: Run
) -> None:
    assert run(resource).success
    mes.now = LATER
    assert run(resource).success
    assert tables(database_url) == expected(mes.holdings())
    full_read = sum(len(records) for records in vars(mes.holdings()).values())
    [_, (status, incremental_read, written, _)] = sync_log(database_url)
    assert status == "success"
    assert 0 < incremental_read < full_read  # only what changed since the watermarks
    assert written > 0


def test_a_second_run_writes_nothing_new(warehouse, database_url, mes, resource, run) -> None:
    assert run(resource).success
    before = tables(database_url)
    assert run(resource).success
    assert run(resource, full=True).success
    assert tables(database_url) == before
    assert [written for _, _, written, _ in sync_log(database_url)][1:] == [0, 0]


@pytest.mark.parametrize(
    ("protocol", "operation", "fault", "message"),
    [
        ("rest", "operator-shifts", "error", "HTTP 500 Internal Server Error after 2 attempts"),
        ("rest", "operator-shifts", "timeout", "ReadTimeout after 2 attempts"),
        ("rest", "operator-shifts", "malformed", "malformed JSON"),
        ("rest", "operator-shifts", "html", "HTML where JSON was expected"),
        ("rest", "operator-shifts", "huge", "larger than"),
        ("soap", "GetShiftAssignment", "soap_fault", "SOAP fault"),
        ("soap", "GetShiftAssignment", "error", "HTTP 500"),
        ("soap", "GetShiftAssignment", "timeout", "ReadTimeout"),
        ("soap", "GetShiftAssignment", "huge", "larger than"),
    ],
)
def test_a_failing_mes_fails_the_sync_and_leaves_the_tables_as_they_were(
    warehouse, database_url, mes, rest_server, soap_server, run, protocol, operation, fault, message
) -> None:
    url = (
        {"rest_url": rest_server.url}
        if protocol == "rest"
        else {"soap_url": soap_server.url + "/mes/soap"}
    )
    resource = configured(**url, timeout_s=0.5, max_body_bytes=1024 * 1024)
    mes.stall_s = 2.0
    assert run(resource).success
    before = tables(database_url)
    mes.now = LATER
    mes.faults[operation] = fault
    result = run(resource)
    assert not result.success
    reported = failure(result)
    assert "mes " in reported and message in reported
    assert tables(database_url) == before
    status, _, _, error = sync_log(database_url)[-1]
    assert status == "failed" and message in error
    # once the MES answers again, the next sync catches up from the unchanged watermarks
    del mes.faults[operation]
    assert run(resource).success
    assert tables(database_url) == expected(mes.holdings())


@pytest.mark.parametrize("protocol", ["rest", "soap"])
def test_a_refused_login_names_the_http_status(
    warehouse, database_url, rest_server, soap_server, run, protocol
) -> None:
    url = (
        {"rest_url": rest_server.url}
        if protocol == "rest"
        else {"soap_url": soap_server.url + "/mes/soap"}
    )
    result = run(configured(**url, password="wrong"))
    assert not result.success
    assert "HTTP 401" in failure(result)
    assert tables(database_url) == {"work_order": [], "recipe": [], "shift_assignment": []}


@pytest.mark.parametrize("fault", ["entities", "external"])
def test_hostile_xml_is_refused(warehouse, database_url, mes, soap_server, run, fault) -> None:
    mes.faults["GetProductionSchedule"] = fault
    result = run(configured(soap_url=soap_server.url + "/mes/soap"))
    assert not result.success
    assert "hostile XML refused" in failure(result)
    assert tables(database_url)["work_order"] == []


def test_records_of_a_plant_the_warehouse_does_not_know_are_dead_letters(
    pool, database_url, mes, rest_server, run
) -> None:
    """The `pool` warehouse holds only site S1: every MES record refers to an unknown one."""
    assert run(configured(rest_url=rest_server.url)).success
    assert tables(database_url) == {"work_order": [], "recipe": [], "shift_assignment": []}
    with pool.connection() as conn:
        reasons = conn.execute(
            "SELECT target, count(*), min(reason) FROM raw.dead_letter GROUP BY target ORDER BY 1"
        ).fetchall()
    holdings = mes.holdings()
    counts = {target: count for target, count, _ in reasons}
    assert counts == {
        "curated.work_order": len(holdings.work_orders) + len(holdings.schedule),
        "curated.recipe": len(holdings.recipes),
        "curated.shift_assignment": len(holdings.shifts),
    }
    assert all("unknown_reference" in reason for _, _, reason in reasons)
