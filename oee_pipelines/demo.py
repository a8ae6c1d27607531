"""`oee demo`: the whole flow on the simulated plant, ending in OEE per line and shift."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster import AssetKey, DagsterInstance, Definitions, ExecuteInProcessResult
from psycopg.rows import dict_row

from assets.files.samples import import_samples, sample_names
from assets.historians import backfill_recent_days
from oee_pipelines.dbt_project import prepare_dbt_manifest
from oee_pipelines.definitions import defs
from oee_pipelines.services import running_services, simulated_systems
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import open_pool
from realtime.window import history_end, ingest_live

SHIFTS_PER_LINE = 3
REASONS_PER_LINE = 3
BACKFILL_DAYS = 2
"""Complete UTC days of PI and AVEVA history the demo backfills."""
HISTORIAN_ASSETS = (AssetKey(["pi", "telemetry"]), AssetKey(["aveva", "telemetry"]))
REALTIME_WINDOW_S = 15.0
"""Seconds of live ingest (Sparkplug B and MQTT JSON from the simulated plant) before the history
and the rollups; the history ends where live data first began (`realtime.window`)."""

# The last shifts of every line (`unscheduled` rows too), with names and the local start; a shift
# still running is measured up to now (its period ends before the calendar's end).
LINE_SUMMARY_SQL = """
SELECT site.name AS site_name, line.line_id, line.name AS line_name, o.shift_date, o.shift_name,
       (o.period_start AT TIME ZONE site.timezone) AS local_start,
       coalesce(o.period_end < s.end_ts, false) AS in_progress,
       o.availability, o.performance, o.quality, o.oee, o.good_count, o.reject_count
FROM (
    SELECT *, row_number() OVER (PARTITION BY line_id ORDER BY period_start DESC) AS recency
    FROM curated.oee_line_shift
) AS o
JOIN curated.line AS line USING (line_id)
JOIN curated.site AS site ON site.site_id = line.site_id
LEFT JOIN curated.shift AS s ON s.site_id = site.site_id AND s.start_ts = o.period_start
WHERE o.recency <= %(shifts)s
ORDER BY site.site_id, line.line_id, o.period_start
"""

# Per machine, its line's newest completed shift: where the losses are.
MACHINE_SUMMARY_SQL = """
SELECT * FROM (
    SELECT DISTINCT ON (o.machine_id)
           o.line_id, line.name AS line_name, machine.name AS machine_name, o.machine_id,
           o.shift_name, o.availability, o.performance, o.quality, o.oee
    FROM curated.oee_machine_shift AS o
    JOIN curated.machine AS machine USING (machine_id)
    JOIN curated.line AS line ON line.line_id = o.line_id
    JOIN curated.shift AS s ON s.site_id = o.site_id AND s.start_ts = o.period_start
    WHERE o.period_end = s.end_ts
    ORDER BY o.machine_id, o.period_start DESC
) AS newest
ORDER BY line_id, machine_id
"""

# Per line, where planned production time went: the largest reasons of unplanned downtime of its
# machines over the rolled-up history (curated.downtime_pareto).
DOWNTIME_SUMMARY_SQL = """
SELECT line_name, reason_code, downtime_s, event_count FROM (
    SELECT line.name AS line_name, p.line_id, p.reason_code, sum(p.downtime_s) AS downtime_s,
           sum(p.event_count) AS event_count,
           row_number() OVER (PARTITION BY p.line_id ORDER BY sum(p.downtime_s) DESC) AS rank
    FROM curated.downtime_pareto AS p
    JOIN curated.line AS line USING (line_id)
    GROUP BY line.name, p.line_id, p.reason_code
) AS reasons
WHERE rank <= %(reasons)s
ORDER BY line_id, rank
"""

# The newest import of each sample file.
IMPORT_SUMMARY_SQL = """
SELECT DISTINCT ON (file_name) file_name, template, status, rows_loaded, rows_rejected
FROM curated.import_file WHERE file_name = ANY(%(names)s)
ORDER BY file_name, imported_at DESC
"""

NEXT_STEPS = """\
Next:
  oee ui                      lineage, runs, checks and backfills in the Dagster UI
  SQL on the warehouse        SELECT * FROM curated.oee_line_shift ORDER BY period_start DESC;"""


def run_demo(settings: Settings) -> int:
    """Serve the simulated plant's systems, ingest its MQTT live for a short window, materialize
    every asset into the warehouse (the MES and ERP syncs among them), backfill the historians'
    last days, import the sample files, roll up again so the OEE includes what came last, then
    print the summary; 0 on success."""
    with running_services(settings) as services, simulated_systems(settings):
        prepare_dbt_manifest()
        definitions = defs()
        now = dict(definitions.resources or {})["clock"].now()
        until = history_end(services.database_url, now)
        print(f"ingesting the simulated plant's MQTT live for {REALTIME_WINDOW_S:.0f} s...")
        written = ingest_live(settings, services.database_url, services.mqtt_url, REALTIME_WINDOW_S)
        print("  rows written:", ", ".join(f"{table} {n}" for table, n in written.items()))
        print(f"materializing every asset ({settings.demo_days} days of simulated history)...")
        history = {"days": settings.demo_days, "until": until.isoformat()}
        result = _run(definitions, "demo_job", {"simulator_history": {"config": history}})
        failures = _failures([result])
        if result.success:
            print(f"backfilling the historians' last {BACKFILL_DAYS} days (PI, AVEVA)...")
            failures = _failures(_backfill_historians(definitions))
        if failures:
            print("oee demo: the demo run failed:", *failures, sep="\n  ")
            return 1
        print("dropping the sample files of config/samples into the import inbox...")
        failed = import_samples(definitions, DagsterInstance.get())
        if failed:
            print("oee demo: the import of these sample files failed:", *failed, sep="\n  ")
            return 1
        print("rolling up again, with the historians' days and the sample files...")
        failures = _failures([_run(definitions, "oee_rollup_job")])
        if failures:
            print("oee demo: the rollup failed:", *failures, sep="\n  ")
            return 1
        with open_pool(services.database_url) as pool, pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            lines = cursor.execute(LINE_SUMMARY_SQL, {"shifts": SHIFTS_PER_LINE}).fetchall()
            machines = cursor.execute(MACHINE_SUMMARY_SQL).fetchall()
            reasons = cursor.execute(DOWNTIME_SUMMARY_SQL, {"reasons": REASONS_PER_LINE}).fetchall()
            imports = cursor.execute(IMPORT_SUMMARY_SQL, {"names": sample_names()}).fetchall()
    print(
        format_line_summary(lines),
        format_machine_summary(machines),
        format_downtime_summary(reasons),
        format_import_summary(imports),
        NEXT_STEPS,
        sep="\n\n",
    )
    return 0


def _backfill_historians(definitions: Definitions) -> list[ExecuteInProcessResult]:
    """Backfill the last days of every historian asset, one run each."""
    assets = [definitions.get_assets_def(key) for key in HISTORIAN_ASSETS]
    resources = dict(definitions.resources or {})
    return backfill_recent_days(assets, resources, resources["clock"].now(), BACKFILL_DAYS)


def _run(
    definitions: Definitions, job: str, ops: dict[str, Any] | None = None
) -> ExecuteInProcessResult:
    """One job of the code location, in this process, logging errors only."""
    return definitions.resolve_job_def(job).execute_in_process(
        instance=DagsterInstance.get(),
        run_config={
            "ops": ops or {},
            "loggers": {"console": {"config": {"log_level": "ERROR"}}},
        },
        raise_on_error=False,
    )


def _failures(results: Sequence[ExecuteInProcessResult]) -> list[str]:
    return [
        str(event.message) for result in results for event in result.all_events if event.is_failure
    ]


def format_line_summary(rows: Sequence[dict[str, Any]]) -> str:
    """A fixed-width table of line-shift OEE; shift starts in the site's local time."""
    header = (
        f"{'line':<24} {'date':<10} {'shift':<7} {'start':>5}  {RATIOS_HEADER} "
        f"{'good':>8} {'reject':>7}"
    )
    lines = [f"OEE per line, last {SHIFTS_PER_LINE} shifts", header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['line_name'][:24]:<24} {row['shift_date']!s:<10} {row['shift_name']:<7} "
            f"{row['local_start']:%H:%M}  {_ratios(row)} "
            f"{row['good_count']:>8.0f} {row['reject_count']:>7.0f}"
            + ("  (in progress)" if row["in_progress"] else "")
        )
    if not rows:
        lines.append("(no shifts with machine data yet)")
    return "\n".join(lines)


def format_machine_summary(rows: Sequence[dict[str, Any]]) -> str:
    """OEE of each machine in its line's last completed shift."""
    header = f"{'line':<24} {'machine':<22} {'shift':<7} {RATIOS_HEADER}"
    lines = ["OEE per machine, last completed shift", header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['line_name'][:24]:<24} {row['machine_name'][:22]:<22} {row['shift_name']:<7} "
            f"{_ratios(row)}"
        )
    return "\n".join(lines)


def format_downtime_summary(rows: Sequence[dict[str, Any]]) -> str:
    """The top reasons of unplanned downtime per line (reason code, else the state)."""
    header = f"{'line':<24} {'reason':<22} {'hours':>7} {'stops':>6}"
    lines = [f"Top {REASONS_PER_LINE} downtime reasons per line", header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['line_name'][:24]:<24} {row['reason_code'][:22]:<22} "
            f"{row['downtime_s'] / 3600:>7.1f} {row['event_count']:>6}"
        )
    if not rows:
        lines.append("(no downtime yet)")
    return "\n".join(lines)


def format_import_summary(rows: Sequence[dict[str, Any]]) -> str:
    """What became of each sample file (rejected rows are in curated.import_reject)."""
    lines = ["Sample file imports (rejected rows: curated.import_reject)"]
    for row in rows:
        lines.append(
            f"{row['file_name']:<24} {row['template'] or '-':<18} {row['status']:<9} "
            f"{row['rows_loaded']:>4} loaded {row['rows_rejected']:>3} rejected"
        )
    return "\n".join(lines)


RATIOS_HEADER = f"{'avail':>6} {'perf':>6} {'qual':>6} {'OEE':>6}"


def _ratios(row: dict[str, Any]) -> str:
    return " ".join(_percent(row[f]) for f in ("availability", "performance", "quality", "oee"))


def _percent(ratio: float | None) -> str:
    return f"{'-':>6}" if ratio is None else f"{ratio:>6.1%}"
