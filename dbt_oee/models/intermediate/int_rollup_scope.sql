{{ config(indexes=[{'columns': ['window_id'], 'unique': True}]) }}

-- What this build recomputes: per machine, runs of consecutive shift dates (`unscheduled` rows
-- have a shift date too), and the window of time that holds every period of them. A run covers
-- every date whose periods int_rollup_change holds, or all dates of every machine when the
-- build rebuilds everything (int_rollup_build). The rollups delete and recompute exactly these
-- periods.
with build as (
    select * from {{ ref('int_rollup_build') }}
),

machines as (
    select
        machine.machine_id,
        machine.line_id,
        machine.site_id,
        site.timezone
    from {{ ref('stg_plant__machine') }} as machine
    inner join {{ ref('stg_plant__site') }} as site
        on machine.site_id = site.site_id
),

changed as (
    select
        machines.machine_id,
        '-infinity'::timestamptz as start_ts,
        'infinity'::timestamptz as end_ts
    from machines
    cross join build
    where build.rebuild_all
    union all
    select
        machine_id,
        start_ts,
        end_ts
    from {{ ref('int_rollup_change') }}
),

-- the shift dates of a change's first and last instant: of the shift occurrence they lie in,
-- else of their UTC hour (shift_of); a night shift makes the first date the day before
dated as (
    select
        changed.machine_id,
        least(
            (date_trunc('hour', changed.start_ts, 'UTC') at time zone machines.timezone)::date,
            (
                select min(calendar.shift_date)
                from {{ ref('int_shift_calendar') }} as calendar
                where
                    calendar.site_id = machines.site_id
                    and (calendar.line_id is null or calendar.line_id = machines.line_id)
                    and calendar.start_ts <= changed.start_ts
                    and calendar.end_ts > changed.start_ts
            )
        ) as first_date,
        greatest(
            (
                date_trunc('hour', changed.end_ts - interval '1 microsecond', 'UTC')
                at time zone machines.timezone
            )::date,
            (
                select max(calendar.shift_date)
                from {{ ref('int_shift_calendar') }} as calendar
                where
                    calendar.site_id = machines.site_id
                    and (calendar.line_id is null or calendar.line_id = machines.line_id)
                    and calendar.start_ts < changed.end_ts
                    and calendar.end_ts >= changed.end_ts
            )
        ) as last_date
    from changed
    inner join machines
        on changed.machine_id = machines.machine_id
),

-- overlapping or adjacent date ranges of a machine merged into runs
reached as (
    select
        machine_id,
        first_date,
        last_date,
        max(last_date) over (
            partition by machine_id order by first_date, last_date
            rows between unbounded preceding and 1 preceding
        ) as reach
    from dated
),

runs as (
    select
        machine_id,
        first_date,
        last_date,
        count(*) filter (where reach is null or first_date > reach + 1) over (
            partition by machine_id order by first_date, last_date
        ) as run
    from reached
),

merged as (
    select
        machine_id,
        min(first_date) as first_date,
        max(last_date) as last_date
    from runs
    group by machine_id, run
)

-- the window: from the UTC hour of the first date's local midnight to the later of the last
-- date's last hour and the end of its last shift
select
    row_number() over (order by merged.machine_id, merged.first_date) as window_id,
    merged.machine_id,
    machines.line_id,
    machines.site_id,
    merged.first_date,
    merged.last_date,
    date_trunc('hour', merged.first_date::timestamp at time zone machines.timezone, 'UTC')
        as window_start,
    greatest(
        (merged.last_date + 1)::timestamp at time zone machines.timezone + interval '1 hour',
        (
            select max(calendar.end_ts)
            from {{ ref('int_shift_calendar') }} as calendar
            where
                calendar.site_id = machines.site_id
                and (calendar.line_id is null or calendar.line_id = machines.line_id)
                and calendar.shift_date = merged.last_date
        )
    ) as window_end
from merged
inner join machines
    on merged.machine_id = machines.machine_id
