"""Schedules. Rollups are refreshed every hour, a little after the hour closes; source syncs
run nightly in each site's own timezone."""

from collections.abc import Iterable

from dagster import DefaultScheduleStatus, ScheduleDefinition
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from oee_pipelines.jobs import context_sync_job, oee_rollup_job
from oee_pipelines.plant_model import Site

hourly_oee_rollup = ScheduleDefinition(
    name="hourly_oee_rollup",
    job=oee_rollup_job,
    cron_schedule="10 * * * *",
    default_status=DefaultScheduleStatus.RUNNING,
)


def nightly_site_schedules(
    job: UnresolvedAssetJobDefinition, sites: Iterable[Site], *, hour: int = 2, running: bool
) -> list[ScheduleDefinition]:
    """One schedule per site running `job` at `hour`:00 local time of the site, so a night's
    sync runs after that site's day, whatever its timezone and daylight-saving time."""
    return [
        ScheduleDefinition(
            name=f"{job.name}_nightly_{site.id.lower()}",
            job=job,
            cron_schedule=f"0 {hour} * * *",
            execution_timezone=site.timezone,
            tags={"oee/site": site.id},
            description=f"{job.name} at {hour:02d}:00 in {site.name} ({site.timezone}).",
            default_status=DefaultScheduleStatus.RUNNING
            if running
            else DefaultScheduleStatus.STOPPED,
        )
        for site in sites
    ]


def nightly_context_syncs(sites: Iterable[Site], *, running: bool) -> list[ScheduleDefinition]:
    """The MES and ERP sync at 02:00 in each site's timezone; `running` when either system is
    configured (the demo's simulated ones come and go with `oee demo`)."""
    return nightly_site_schedules(context_sync_job, sites, running=running)
