{{ config(indexes=[{'columns': ['machine_id', 'start_ts'], 'unique': True}]) }}

-- The parts of each segment: every count interval split over the segments it covers in
-- proportion to time (segments are cut at every count boundary, so each lies inside or outside
-- a count interval), and those parts at the cycle time in force in the segment. Lateral and
-- fenced, so that each count reads only its own segments through the index on (machine_id,
-- start_ts), bounded from both sides; the other way round, the count index bounded from above
-- only, every segment would read every earlier count of its machine.
with shares as (
    select
        segment.machine_id,
        segment.start_ts,
        segment.cycle_time_s,
        production_count.good_count,
        production_count.reject_count,
        segment.duration_s
        / extract(epoch from production_count.end_ts - production_count.start_ts)::double precision
            as fraction
    from {{ ref('stg_machine_data__production_count') }} as production_count
    cross join lateral (
        select
            covered.machine_id,
            covered.start_ts,
            covered.cycle_time_s,
            extract(epoch from covered.end_ts - covered.start_ts)::double precision as duration_s
        from {{ ref('int_machine_segment') }} as covered
        where
            covered.machine_id = production_count.machine_id
            and covered.start_ts >= production_count.start_ts
            and covered.start_ts < production_count.end_ts
        -- offset: a fence that keeps the planner from flattening the lateral into a join,
        -- which it then runs the quadratic way round
        order by covered.start_ts
        offset 0
    ) as segment
)

select
    machine_id,
    start_ts,
    sum(good_count * fraction) as good_count,
    sum(reject_count * fraction) as reject_count,
    sum((good_count + reject_count) * fraction * cycle_time_s) as ideal_run_s
from shares
group by machine_id, start_ts
