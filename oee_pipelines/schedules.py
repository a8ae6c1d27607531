"""Schedules. Rollups are refreshed every hour, a little after the hour closes."""

from dagster import DefaultScheduleStatus, ScheduleDefinition

from oee_pipelines.jobs import oee_rollup_job

hourly_oee_rollup = ScheduleDefinition(
    name="hourly_oee_rollup",
    job=oee_rollup_job,
    cron_schedule="10 * * * *",
    default_status=DefaultScheduleStatus.RUNNING,
)
