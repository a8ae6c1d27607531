{{ config(indexes=[{'columns': ['machine_id', 'start_ts'], 'unique': True}]) }}

-- The pieces of int_machine_piece cut again at UTC clock hours, each with what holds in it: the
-- state, the shift occurrence (NULL outside every shift), and how its seconds count under the
-- site's loss model (the time model of contracts.md section 3):
--   run class (running; changeover when it is performance loss; an unplanned stop shorter than
--   the micro-stop threshold) -> run, in a shift or out of it;
--   in a shift, otherwise: a planned window (a break, a planned downtime event), planned_stop
--   or an excluded state or reason -> planned downtime, anything else (no state too) -> loss.
-- Out of every shift, time that is not run counts nowhere. Only the segments of the shift
-- dates of the build's scope (int_rollup_scope); the pieces of other dates in its windows go.
with hours as (
    select
        piece.machine_id,
        piece.first_date,
        piece.last_date,
        clock_hour.hour_start,
        piece.state_start,
        piece.shift_start,
        piece.in_planned_event,
        piece.in_break,
        greatest(piece.start_ts, clock_hour.hour_start) as start_ts,
        least(piece.end_ts, clock_hour.hour_start + interval '1 hour') as end_ts
    from {{ ref('int_machine_piece') }} as piece
    cross join lateral generate_series(
        date_trunc('hour', piece.start_ts, 'UTC'),
        piece.end_ts - interval '1 microsecond',
        interval '1 hour'
    ) as clock_hour (hour_start)
),

classified as (
    select
        machine.site_id,
        machine.line_id,
        hours.machine_id,
        hours.first_date,
        hours.last_date,
        hours.start_ts,
        hours.end_ts,
        hours.hour_start,
        hours.shift_start,
        calendar.end_ts as shift_end,
        hours.state_start,
        machine_state.state,
        machine_state.reason_code,
        site.loss_model,
        {{ shift_of('calendar', 'hours.hour_start', 'site.timezone') }},
        extract(epoch from hours.end_ts - hours.start_ts)::double precision as duration_s,
        coalesce(
            machine_state.state = 'running'
            or (machine_state.state = 'changeover' and site.changeover_loss = 'performance')
            or (
                machine_state.state = 'unplanned_stop'
                and extract(
                    epoch from coalesce(machine_state.end_ts, {{ oee_now() }})
                    - machine_state.start_ts
                ) < site.micro_stop_threshold_s
            ),
            false
        ) as is_run,
        (hours.in_break and site.breaks_are_planned_downtime)
        or hours.in_planned_event
        or coalesce(
            machine_state.state = 'planned_stop'
            or machine_state.state = any(site.excluded_states)
            or (
                machine_state.state != 'running'
                and machine_state.reason_code = any(site.excluded_reason_codes)
            ),
            false
        ) as is_planned_down
    from hours
    inner join {{ ref('stg_plant__machine') }} as machine
        on hours.machine_id = machine.machine_id
    inner join {{ ref('stg_plant__site') }} as site
        on machine.site_id = site.site_id
    left join {{ ref('stg_machine_data__machine_state') }} as machine_state
        on
            hours.machine_id = machine_state.machine_id
            and hours.state_start = machine_state.start_ts
    left join {{ ref('int_shift_calendar') }} as calendar
        on
            machine.site_id = calendar.site_id
            and hours.shift_start = calendar.start_ts
)

select
    site_id,
    line_id,
    machine_id,
    start_ts,
    end_ts,
    hour_start,
    shift_start,
    shift_end,
    shift_date,
    shift_name,
    state_start,
    state,
    reason_code,
    loss_model,
    case when is_run then duration_s else 0 end as run_s,
    case
        when not is_run and shift_start is not null and is_planned_down then duration_s else 0
    end as planned_downtime_s,
    case
        when not is_run and shift_start is not null and not is_planned_down then duration_s
        else 0
    end as unplanned_downtime_s,
    case
        when shift_start is not null and state is null and not is_planned_down then duration_s
        else 0
    end as no_state_s
from classified
where shift_date between first_date and last_date
