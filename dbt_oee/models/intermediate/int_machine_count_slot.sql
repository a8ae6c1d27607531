{{ config(indexes=[{'columns': ['machine_id', 'start_ts'], 'unique': True}]) }}

-- Each machine's parts placed in slots: its time axis cut at UTC clock hours, at its site's
-- shift occurrences and at the work-order pieces of its line (int_line_cycle_time; only where
-- the line's cycle time applies to the machine), which is all that decides where a part is
-- booked and at what cycle time. A count interval nearly always lies inside one slot and goes to
-- it whole, found by a binary search in the machine's sorted slot starts (width_bucket); the
-- rare one that crosses a slot edge, or is still open at now, is split over the slots it covers
-- in proportion to time (its part up to now only). Counts from the earliest plausible date.
-- Only in the windows of the build's scope (int_rollup_scope), each cut on its own, and only the
-- slots of its shift dates are kept; a count across the window's edge keeps its share inside.
-- The counts are read through the index on their end from the scope's earliest instant.
with machine_counts as (
    select
        scope.machine_id,
        scope.window_id,
        production_count.start_ts,
        production_count.end_ts,
        production_count.good_count,
        production_count.reject_count
    from {{ ref('int_rollup_scope') }} as scope
    inner join {{ ref('stg_machine_data__production_count') }} as production_count
        on
            scope.machine_id = production_count.machine_id
            and scope.window_start < production_count.end_ts
            and scope.window_end > production_count.start_ts
    where
        production_count.start_ts < {{ oee_now() }}
        and production_count.start_ts
        >= '{{ var("oee_earliest_date") }}'::timestamp at time zone 'UTC'
        and production_count.end_ts > {{ rollup_scope_start() }}
),

extents as (
    select
        machine_id,
        window_id,
        min(start_ts) as first_ts,
        max(least(end_ts, {{ oee_now() }})) as last_ts
    from machine_counts
    group by machine_id, window_id
),

edges as (
    -- every clock hour over the machine's counts in the window, the last one at or after the
    -- last count
    select
        scope.machine_id,
        scope.window_id,
        clock_hour.ts,
        0 as delta,
        null::text as kind
    from extents
    inner join {{ ref('int_rollup_scope') }} as scope
        on
            extents.window_id = scope.window_id
    cross join
        lateral generate_series(
            date_trunc('hour', greatest(extents.first_ts, scope.window_start), 'UTC'),
            least(extents.last_ts, scope.window_end) + interval '1 hour',
            interval '1 hour'
        ) as clock_hour (ts)
    union all
    select
        scope.machine_id,
        scope.window_id,
        edge.ts,
        edge.delta,
        'shift' as kind
    from {{ ref('int_rollup_scope') }} as scope
    inner join {{ ref('int_shift_calendar') }} as calendar
        on
            scope.site_id = calendar.site_id
            and (calendar.line_id is null or scope.line_id = calendar.line_id)
            and scope.window_end > calendar.start_ts
            and scope.window_start < calendar.end_ts
    cross join
        lateral (values (calendar.start_ts, 1), (calendar.end_ts, -1)) as edge (ts, delta)
    union all
    select
        scope.machine_id,
        scope.window_id,
        edge.ts,
        edge.delta,
        'order' as kind
    from {{ ref('int_rollup_scope') }} as scope
    inner join {{ ref('stg_plant__line') }} as plant_line
        on scope.line_id = plant_line.line_id
    inner join {{ ref('int_line_cycle_time') }} as cycle_time
        on
            scope.line_id = cycle_time.line_id
            and scope.window_end > cycle_time.start_ts
            and scope.window_start < cycle_time.end_ts
    cross join
        lateral (values (cycle_time.start_ts, 1), (cycle_time.end_ts, -1)) as edge (ts, delta)
    where
        plant_line.output_machine_id is null
        or scope.machine_id = plant_line.output_machine_id
),

boundaries as (
    select
        machine_id,
        window_id,
        ts,
        coalesce(sum(delta) filter (where kind = 'shift'), 0)::int as d_shift,
        coalesce(sum(delta) filter (where kind = 'order'), 0)::int as d_order,
        max(ts) filter (where kind = 'shift' and delta = 1) as shift_start,
        max(ts) filter (where kind = 'order' and delta = 1) as order_start
    from edges
    group by machine_id, window_id, ts
),

swept as (
    select
        machine_id,
        window_id,
        ts as start_ts,
        lead(ts) over running as end_ts,
        row_number() over running as slot,
        sum(d_shift) over running as open_shifts,
        sum(d_order) over running as open_orders,
        max(shift_start) over running as shift_start,
        max(order_start) over running as order_start
    from boundaries
    window running as (partition by window_id order by ts)
),

slots as (
    select
        machine_id,
        window_id,
        slot,
        start_ts,
        end_ts,
        case when open_shifts > 0 then shift_start end as shift_start,
        case when open_orders > 0 then order_start end as order_start
    from swept
),

slot_starts as (
    select
        machine_id,
        window_id,
        array_agg(start_ts order by slot) as start_list
    from slots
    group by machine_id, window_id
),

placed as (
    select
        machine_counts.machine_id,
        machine_counts.window_id,
        machine_counts.start_ts,
        machine_counts.end_ts,
        machine_counts.good_count,
        machine_counts.reject_count,
        width_bucket(machine_counts.start_ts, slot_starts.start_list) as first_slot,
        -- the slot of its last microsecond up to now
        width_bucket(
            least(machine_counts.end_ts, {{ oee_now() }}) - interval '1 microsecond',
            slot_starts.start_list
        ) as last_slot
    from machine_counts
    inner join slot_starts
        on
            machine_counts.window_id = slot_starts.window_id
),

-- the pieces of the counts that cross a slot edge or now, one per slot covered
crossing as (
    select
        placed.machine_id,
        placed.window_id,
        slots.slot,
        placed.good_count,
        placed.reject_count,
        extract(epoch from placed.end_ts - placed.start_ts)::double precision as length_s,
        greatest(placed.start_ts, slots.start_ts) as start_ts,
        least(placed.end_ts, slots.end_ts, {{ oee_now() }}) as end_ts
    from placed
    cross join lateral generate_series(placed.first_slot, placed.last_slot) as covered (slot)
    inner join slots
        on
            placed.window_id = slots.window_id
            and covered.slot = slots.slot
    where placed.first_slot < placed.last_slot or placed.end_ts > {{ oee_now() }}
),

shares as (
    select
        machine_id,
        window_id,
        first_slot as slot,
        start_ts,
        end_ts,
        good_count::double precision as good_count,
        reject_count::double precision as reject_count
    from placed
    where first_slot = last_slot and end_ts <= {{ oee_now() }}
    union all
    select
        machine_id,
        window_id,
        slot,
        start_ts,
        end_ts,
        good_count * extract(epoch from end_ts - start_ts)::double precision / length_s
            as good_count,
        reject_count * extract(epoch from end_ts - start_ts)::double precision / length_s
            as reject_count
    from crossing
),

slot_sums as (
    select
        machine_id,
        window_id,
        slot,
        min(start_ts) as first_ts,
        max(end_ts) as last_ts,
        sum(good_count) as good_count,
        sum(reject_count) as reject_count
    from shares
    group by machine_id, window_id, slot
),

booked as (
    select
        machine.site_id,
        machine.line_id,
        slots.machine_id,
        slots.start_ts,
        slots.shift_start,
        site.loss_model,
        scope.first_date,
        scope.last_date,
        slot_sums.first_ts,
        slot_sums.last_ts,
        slot_sums.good_count,
        slot_sums.reject_count,
        date_trunc('hour', slots.start_ts, 'UTC') as hour_start,
        {{ shift_of('calendar', "date_trunc('hour', slots.start_ts, 'UTC')", 'site.timezone') }},
        coalesce(cycle_time.ideal_cycle_time_s, machine.ideal_cycle_time_s) as cycle_time_s,
        (slot_sums.good_count + slot_sums.reject_count)
        * coalesce(cycle_time.ideal_cycle_time_s, machine.ideal_cycle_time_s) as ideal_run_s
    from slot_sums
    inner join slots
        on
            slot_sums.window_id = slots.window_id
            and slot_sums.slot = slots.slot
    inner join {{ ref('stg_plant__machine') }} as machine
        on slots.machine_id = machine.machine_id
    inner join {{ ref('stg_plant__site') }} as site
        on machine.site_id = site.site_id
    left join {{ ref('int_shift_calendar') }} as calendar
        on
            machine.site_id = calendar.site_id
            and slots.shift_start = calendar.start_ts
    left join {{ ref('int_line_cycle_time') }} as cycle_time
        on
            machine.line_id = cycle_time.line_id
            and slots.order_start = cycle_time.start_ts
    inner join {{ ref('int_rollup_scope') }} as scope
        on
            slots.window_id = scope.window_id
)

select
    site_id,
    line_id,
    machine_id,
    start_ts,
    shift_start,
    loss_model,
    first_ts,
    last_ts,
    good_count,
    reject_count,
    hour_start,
    shift_date,
    shift_name,
    cycle_time_s,
    ideal_run_s
from booked
where shift_date between first_date and last_date
