"""The simulated plant is the ground truth the warehouse is checked against, so these tests pin
down what "truth" means: deterministic, gap-free timelines that respect the shift calendar, PLC
counters that reset per work order, and OEE identities that hold by construction."""

from __future__ import annotations

import datetime as dt
import json
import math
from zoneinfo import ZoneInfo

import pytest

from oee_pipelines.plant_model import PlantModel
from simulator import STATES, SimulatedPlant, production_day_start, truth_report

BERLIN = ZoneInfo("Europe/Berlin")
CHICAGO = ZoneInfo("America/Chicago")
MICROSECOND = dt.timedelta(microseconds=1)


@pytest.fixture(scope="module")
def sim(plant: PlantModel) -> SimulatedPlant:
    return SimulatedPlant(plant)


def berlin(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


def chicago(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def test_same_seed_gives_same_answers_in_any_order(plant: PlantModel) -> None:
    start, end = berlin(2026, 3, 23, 6), berlin(2026, 3, 25, 6)
    first, second = SimulatedPlant(plant, seed=11), SimulatedPlant(plant, seed=11)
    second.states("BER-L1-FILLER", berlin(2026, 3, 24, 12), end)  # generate the later day first

    for machine_id in ("BER-L1-FILLER", "CHI-L1-CNC1"):
        assert first.states(machine_id, start, end) == second.states(machine_id, start, end)
        assert first.count_buckets(machine_id, start, end) == second.count_buckets(
            machine_id, start, end
        )
        assert first.truth(machine_id, start, end) == second.truth(machine_id, start, end)
    assert first.work_orders("BER-L1", start, end) == second.work_orders("BER-L1", start, end)


def test_different_seed_gives_different_timeline(plant: PlantModel) -> None:
    start, end = berlin(2026, 3, 23, 6), berlin(2026, 3, 24, 6)
    one, other = SimulatedPlant(plant, seed=1), SimulatedPlant(plant, seed=2)
    assert one.states("BER-L1-FILLER", start, end) != other.states("BER-L1-FILLER", start, end)
    assert one.work_orders("BER-L1", start, end) != other.work_orders("BER-L1", start, end)


@pytest.mark.parametrize(
    ("machine_id", "start", "end"),
    [
        # across the spring-forward night and an unaligned range
        ("BER-L1-LABELER", berlin(2026, 3, 27, 9, 13, 7), berlin(2026, 3, 30, 17, 2)),
        ("BER-L2-DEBURR", berlin(2026, 10, 24, 0), berlin(2026, 10, 26, 12)),
        ("CHI-L1-WASHER", chicago(2026, 3, 6, 3), chicago(2026, 3, 10, 3)),  # a weekend + DST
    ],
)
def test_states_are_contiguous_cover_the_range_and_never_straddle_a_shift_edge(
    sim: SimulatedPlant, machine_id: str, start: dt.datetime, end: dt.datetime
) -> None:
    states = sim.states(machine_id, start, end)
    assert states[0].start == start and states[-1].end == end
    for before, after in zip(states, states[1:], strict=False):
        assert before.end == after.start
    assert all(interval.start < interval.end for interval in states)
    assert {interval.state for interval in states} <= set(STATES)
    assert all(interval.start.tzinfo == dt.UTC for interval in states)

    site_id = machine_id.split("-")[0]
    windows = sim.shifts(site_id, start, end)
    edges = {edge for window in windows for edge in (window.start, window.end)}
    assert not [i for i in states for edge in edges if i.start < edge < i.end]
    for interval in states:
        in_shift = any(w.start <= interval.start < w.end for w in windows)
        if interval.reason_code == "NO_SHIFT":
            assert interval.state == "idle" and not in_shift
        elif not in_shift:  # a spell of running outside the shifts, with its interruptions
            assert interval.state not in {"planned_stop", "changeover"}, interval


def test_chicago_sunday_has_no_shift_and_counts_only_its_running(sim: SimulatedPlant) -> None:
    start, end = chicago(2026, 3, 15, 7), chicago(2026, 3, 16, 7)  # Sunday's production day
    assert sim.shifts("CHI", start, end) == []
    states = sim.states("CHI-L1-CNC1", start, end)
    assert {i.reason_code for i in states if i.state in ("planned_stop", "changeover")} == set()
    running = sum((i.end - i.start).total_seconds() for i in states if i.state == "running")
    truth = sim.truth("CHI-L1-CNC1", start, end)
    assert truth.run_s == truth.planned_production_s == running
    assert truth.planned_downtime_s == truth.unplanned_downtime_s == 0
    assert truth.total_count == len(sim.cycles("CHI-L1-CNC1", start, end))
    # every machine runs a while outside the shifts on every Sunday
    sundays = [chicago(2026, 3, day, 7) for day in (1, 8, 15, 22)]
    ran = {
        (machine_id, sunday): sim.truth(machine_id, sunday, sunday + dt.timedelta(days=1)).run_s > 0
        for machine_id in ("CHI-L1-CNC1", "CHI-L1-CNC2", "CHI-L1-WASHER")
        for sunday in sundays
    }
    assert all(ran.values())
    # the Saturday third shift still ends on Sunday morning
    saturday = sim.shifts("CHI", chicago(2026, 3, 14, 12), chicago(2026, 3, 15, 12))
    assert [(w.shift_name, w.end) for w in saturday][-1] == ("third", chicago(2026, 3, 15, 7))


def test_production_day_starts_at_the_first_shift_or_at_midnight_without_shifts(
    plant: PlantModel,
) -> None:
    berlin_site, chicago_site = plant.sites
    assert production_day_start(berlin_site, dt.date(2026, 3, 29)) == berlin(2026, 3, 29, 6)
    assert production_day_start(chicago_site, dt.date(2026, 3, 15)) == chicago(2026, 3, 15, 7)

    without_shifts = PlantModel(sites=(chicago_site.model_copy(update={"shifts": ()}),))
    (site,) = without_shifts.sites
    assert production_day_start(site, dt.date(2026, 3, 8)) == chicago(2026, 3, 8)
    day = (chicago(2026, 3, 8), chicago(2026, 3, 9))  # a DST change: 23 h
    states = SimulatedPlant(without_shifts).states("CHI-L1-CNC1", *day)
    assert ("idle", "NO_SHIFT") in {(i.state, i.reason_code) for i in states}
    assert not {i.state for i in states} & {"planned_stop", "changeover"}  # no shift to plan
    assert (states[0].start, states[-1].end) == day


@pytest.mark.parametrize(
    ("night", "hours"),
    [(dt.date(2026, 3, 27), 8), (dt.date(2026, 3, 28), 7), (dt.date(2026, 10, 24), 9)],
)
def test_night_shift_crosses_midnight_in_local_time_through_dst(
    sim: SimulatedPlant, night: dt.date, hours: int
) -> None:
    noon = berlin(night.year, night.month, night.day, 12)
    windows = sim.shifts("BER", noon, noon + dt.timedelta(days=1))
    (window,) = [w for w in windows if w.shift_name == "night" and w.shift_date == night]
    assert window.start == berlin(night.year, night.month, night.day, 22)
    assert window.end.astimezone(BERLIN).time() == dt.time(6)
    assert window.end.astimezone(BERLIN).date() == night + dt.timedelta(days=1)
    assert window.end - window.start == dt.timedelta(hours=hours)


def test_counters_reset_at_each_work_order_and_rise_within_it(sim: SimulatedPlant) -> None:
    machine_id = "BER-L1-FILLER"
    orders = sim.work_orders("BER-L1", berlin(2026, 3, 23, 6), berlin(2026, 3, 24, 6))
    assert len(orders) >= 2
    for order in orders:
        assert sim.counters(machine_id, order.start) == (0, 0)
        readings = []
        at = order.start
        while at < order.end:
            readings.append(sim.counters(machine_id, at))
            at += dt.timedelta(minutes=7)
        for before, after in zip(readings, readings[1:], strict=False):
            assert before[0] <= after[0] and before[1] <= after[1]
        last = order.end - MICROSECOND
        parts = sim.cycles(machine_id, order.start, last)
        good = sum(cycle.good for cycle in parts)
        assert sim.counters(machine_id, last) == (good, len(parts) - good)
        assert good > 0


def test_work_orders_tile_the_production_day_and_start_with_a_changeover(
    sim: SimulatedPlant, plant: PlantModel
) -> None:
    start, end = berlin(2026, 3, 23, 6), berlin(2026, 3, 26, 6)
    orders = sim.work_orders("BER-L1", start, end)
    assert orders[0].start == start and orders[-1].end == end
    for before, after in zip(orders, orders[1:], strict=False):
        assert before.end == after.start
    for order in orders:
        assert dt.timedelta(hours=3) <= order.end - order.start <= dt.timedelta(hours=9)
    assert orders[0].work_order_id == "WO-BER-L1-20260323-01"
    assert len({order.work_order_id for order in orders}) == len(orders)

    windows = sim.shifts("BER", start, end)
    machines = [m.id for _, line, m in plant.machines() if line.id == "BER-L1"]
    for machine_id in machines:
        states = sim.states(machine_id, start, end)
        changeover_starts = {i.start for i in states if i.state == "changeover"}
        for order in orders:
            if any(w.start <= order.start < w.end for w in windows):
                assert order.start in changeover_starts
        for previous, following in zip(states, states[1:], strict=False):
            if following.state == "changeover" and previous.state != "changeover":
                assert following.start in {order.start for order in orders}


def test_count_buckets_add_up_to_the_cycles(sim: SimulatedPlant) -> None:
    start, end = berlin(2026, 3, 23, 13, 30, 30), berlin(2026, 3, 23, 16, 0)
    cycles = sim.cycles("BER-L1-CAPPER", start, end)
    good = sum(cycle.good for cycle in cycles)
    for width in (dt.timedelta(minutes=1), dt.timedelta(minutes=15)):
        buckets = sim.count_buckets("BER-L1-CAPPER", start, end, bucket=width)
        assert sum(b.good_count for b in buckets) == good
        assert sum(b.reject_count for b in buckets) == len(cycles) - good
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        for b in buckets:
            assert (b.start - epoch) % width == dt.timedelta(0) and b.end - b.start == width
            assert b.good_count + b.reject_count > 0
            in_bucket = [c for c in cycles if b.start <= c.ts < b.end]
            assert len(in_bucket) == b.good_count + b.reject_count


def test_truth_identities_hold_for_every_machine(sim: SimulatedPlant, plant: PlantModel) -> None:
    start, end = dt.datetime(2026, 3, 23, tzinfo=dt.UTC), dt.datetime(2026, 3, 30, tzinfo=dt.UTC)
    for site, line, machine in plant.machines():
        truth = sim.truth(machine.id, start, end)
        windows = sim.shifts(site.id, start, end)
        scheduled = [(max(start, w.start), min(end, w.end)) for w in windows]
        off_shift_run_s = sum(
            (i.end - i.start).total_seconds()
            - sum(max(0.0, (min(i.end, b) - max(i.start, a)).total_seconds()) for a, b in scheduled)
            for i in sim.states(machine.id, start, end)
            if i.state == "running"
        )
        scheduled_s = sum((b - a).total_seconds() for a, b in scheduled)
        assert math.isclose(
            truth.planned_production_s + truth.planned_downtime_s, scheduled_s + off_shift_run_s
        )
        assert math.isclose(truth.run_s + truth.unplanned_downtime_s, truth.planned_production_s)
        assert truth.good_count + truth.reject_count == truth.total_count > 0
        default_run_s = truth.total_count * machine.ideal_cycle_time_s
        if machine.id == line.output_machine:  # paced by recipes of 1.0 and 1.5 times its own
            assert default_run_s < truth.ideal_run_s < 1.5 * default_run_s
        else:
            assert math.isclose(truth.ideal_run_s, default_run_s)
        assert truth.availability and truth.performance and truth.quality and truth.oee
        assert math.isclose(truth.oee, truth.availability * truth.performance * truth.quality)
        assert 0.5 < truth.availability < 1 and 0.7 < truth.performance < 1
        assert 0.9 < truth.quality < 1 and truth.unplanned_downtime_s > 0
        # a break per shift, some maintenance
        assert 900 * len(windows) < truth.planned_downtime_s < 1800 * len(windows) + 7 * 95 * 60


def test_shift_truth_adds_up_to_the_truth_of_the_same_span(sim: SimulatedPlant) -> None:
    start, end = berlin(2026, 3, 27, 6), berlin(2026, 3, 30, 6)  # includes the 7 h night
    per_shift = sim.shift_truth("BER-L2-PRESS1", start, end)
    whole = sim.truth("BER-L2-PRESS1", start, end)
    assert len(per_shift) == 9
    assert [(t.period_start, t.period_end) for t in per_shift] == [
        (w.start, w.end) for w in sim.shifts("BER", start, end)
    ]
    assert {t.shift_name for t in per_shift} == {"early", "late", "night"}
    for field in ("planned_production_s", "run_s", "planned_downtime_s", "ideal_run_s"):
        assert math.isclose(sum(getattr(t, field) for t in per_shift), getattr(whole, field))
    for field in ("total_count", "good_count", "reject_count"):
        assert sum(getattr(t, field) for t in per_shift) == getattr(whole, field)


def test_truth_report_is_json_with_iso_timestamps(plant: PlantModel) -> None:
    start, end = chicago(2026, 3, 9, 7), chicago(2026, 3, 9, 15)
    report = json.loads(json.dumps(truth_report(plant, 7, "CHI-L1-CNC2", start, end)))
    assert dt.datetime.fromisoformat(report["period_start"]) == start
    assert report["machine_id"] == "CHI-L1-CNC2" and report["oee"] > 0
    assert dt.datetime.fromisoformat(report["period_end"]) == end
    assert report["states"][0]["start"] == report["period_start"]
    assert report == truth_report(plant, 7, "CHI-L1-CNC2", start, end)


def test_naive_datetimes_are_rejected(sim: SimulatedPlant) -> None:
    naive = dt.datetime(2026, 3, 23, 6)
    with pytest.raises(ValueError, match="naive"):
        sim.states("BER-L1-FILLER", naive, naive + dt.timedelta(hours=1))
    with pytest.raises(ValueError, match="naive"):
        sim.counters("BER-L1-FILLER", naive)
    with pytest.raises(ValueError, match="naive"):
        sim.shifts("BER", berlin(2026, 3, 23), naive)


def test_the_output_machine_runs_at_the_pace_of_the_recipe_in_force(
    sim: SimulatedPlant, plant: PlantModel
) -> None:
    start, end = berlin(2026, 3, 23, 6), berlin(2026, 3, 27, 6)
    recipes = {r.recipe_id: r.ideal_cycle_time_s for r in sim.recipes("BER-L2")}
    assert sorted(set(recipes.values())) == [8.0, 12.0]  # 1.0 and 1.5 times the deburring cell
    paces = set()
    for order in sim.work_orders("BER-L2", start, end):
        assert order.start.second == order.start.microsecond == 0  # whole minutes
        paces.add(recipes[order.recipe_id])
        truth = sim.truth("BER-L2-DEBURR", order.start, order.end)
        assert 0.7 < (truth.performance or 0) < 1  # measured at the recipe's pace
        station = sim.truth("BER-L2-PRESS1", order.start, order.end)
        assert 0.7 < (station.performance or 0) < 1  # a station before it keeps its own pace
    assert paces == {8.0, 12.0}


def test_planned_maintenance_is_reported_and_the_machine_sometimes_runs_inside_it(
    sim: SimulatedPlant, plant: PlantModel
) -> None:
    start, end = berlin(2026, 3, 23, 6), berlin(2026, 3, 30, 6)
    events = [
        event
        for _, _, machine in plant.machines()
        if machine.id.startswith("BER")
        for event in sim.downtime_events(machine.id, start, end)
    ]
    assert len(events) >= 3
    ran_inside = 0
    for event in events:
        assert event.category == "planned" and event.start.second == event.end.second == 0
        before = sim.states(event.machine_id, event.start - dt.timedelta(minutes=1), event.start)
        assert (before[-1].state, before[-1].reason_code) in {
            ("planned_stop", "PLANNED_MAINTENANCE"),
            ("changeover", "CHANGEOVER"),
        }
        inside = sim.truth(event.machine_id, event.start, event.end)
        duration_s = (event.end - event.start).total_seconds()
        assert inside.unplanned_downtime_s == 0  # in a planned window, only running counts
        assert math.isclose(inside.run_s + inside.planned_downtime_s, duration_s)
        ran_inside += inside.run_s > 0
    assert ran_inside > 0


def test_the_marts_add_up(sim: SimulatedPlant, plant: PlantModel) -> None:
    """Hours, shifts with the unscheduled rows, days and lines are cuts of the same time."""
    starts = {"BER": berlin(2026, 3, 26, 6), "CHI": chicago(2026, 3, 13, 7)}
    marts = sim.marts(starts, dt.datetime(2026, 3, 16, 18, tzinfo=dt.UTC) + dt.timedelta(days=14))
    measures = ("planned_production_s", "run_s", "planned_downtime_s", "ideal_run_s", "good_count")
    for _, line, machine in plant.machines():
        rows = {
            name: [r for r in marts[name] if r.machine_id == machine.id]
            for name in ("oee_machine_hourly", "oee_machine_shift", "oee_machine_daily")
        }
        for measure in measures:
            sums = [sum(getattr(r, measure) for r in rows[name]) for name in rows]
            assert math.isclose(sums[0], sums[1]) and math.isclose(sums[1], sums[2]), measure
        unscheduled = [r for r in rows["oee_machine_shift"] if r.shift_name == "unscheduled"]
        for r in unscheduled:
            assert r.planned_downtime_s == r.unplanned_downtime_s == 0
            tz = BERLIN if machine.id.startswith("BER") else CHICAGO
            assert r.period_start.astimezone(tz).date() == r.shift_date
        if machine.id.startswith("CHI"):
            weekdays = {r.period_start.astimezone(CHICAGO).isoweekday() for r in unscheduled}
            assert weekdays <= {7, 1}  # Sunday and Monday morning, before the first shift
        if machine.id == line.output_machine:
            lines = [r.good_count for r in marts["oee_line_shift"] if r.line_id == line.id]
            assert lines == [r.good_count for r in rows["oee_machine_shift"]]
    assert any(r.shift_name == "unscheduled" for r in marts["oee_machine_shift"])
