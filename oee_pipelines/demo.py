"""`oee demo`: the whole flow on the simulated plant, ending in OEE per line and shift."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster import DagsterInstance
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

from oee_pipelines.dbt_project import prepare_dbt_manifest
from oee_pipelines.services import running_services
from oee_pipelines.settings import Settings
from oee_pipelines.warehouse import open_pool

SUMMARY_SQL = """
SELECT site_id, line_id, shift_date, shift_name, period_start, period_end,
       availability, performance, quality, oee, good_count, reject_count
FROM curated.oee_line_shift
WHERE period_end > now() - interval '24 hours'
ORDER BY site_id, line_id, period_start
"""


def run_demo(settings: Settings) -> int:
    """Materialize every asset into the warehouse, then print the summary; 0 on success."""
    with running_services(settings) as services:
        prepare_dbt_manifest()
        from oee_pipelines.definitions import defs  # after the services exported their URLs

        print(f"warehouse {_without_password(services.database_url)}")
        print(f"materializing every asset ({settings.demo_days} days of simulated history)...")
        result = defs.resolve_job_def("demo_job").execute_in_process(
            instance=DagsterInstance.get(),
            run_config={
                "ops": {"simulator_history": {"config": {"days": settings.demo_days}}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
            raise_on_error=False,
        )
        if not result.success:
            failures = [event.message for event in result.all_events if event.is_failure]
            print("oee demo: the demo run failed:", *failures, sep="\n  ")
            return 1
        with open_pool(services.database_url) as pool, pool.connection() as conn:
            rows = conn.cursor(row_factory=dict_row).execute(SUMMARY_SQL).fetchall()
    print(format_summary(rows))
    return 0


def format_summary(rows: Sequence[dict[str, Any]]) -> str:
    """A fixed-width table of line-shift OEE, one row per line and shift."""
    header = (
        f"{'site':<5} {'line':<8} {'date':<10} {'shift':<7} {'start (UTC)':<11} "
        f"{'avail':>6} {'perf':>6} {'qual':>6} {'OEE':>6} {'good':>8} {'reject':>7}"
    )
    lines = ["OEE per line and shift, last 24 hours", header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['site_id']:<5} {row['line_id']:<8} {row['shift_date']!s:<10} "
            f"{row['shift_name']:<7} {row['period_start']:%m-%d %H:%M} "
            f"{_percent(row['availability'])} {_percent(row['performance'])} "
            f"{_percent(row['quality'])} {_percent(row['oee'])} "
            f"{row['good_count']:>8} {row['reject_count']:>7}"
        )
    if not rows:
        lines.append("(no shifts in the last 24 hours)")
    return "\n".join(lines)


def _without_password(url: str) -> str:
    parsed = make_url(url)
    return parsed.render_as_string(hide_password=bool(parsed.password))


def _percent(ratio: float | None) -> str:
    return f"{'-':>6}" if ratio is None else f"{ratio:>6.1%}"
