{{ config(indexes=[{'columns': ['machine_id', 'start_ts'], 'unique': True}]) }}

-- The parts of each segment: every count interval split over the segments it covers in
-- proportion to time (segments are cut at every count boundary, so each lies inside or outside
-- a count interval), and those parts at the cycle time in force in the segment. The join is
-- bounded on the segment's start from both sides, so each count reads only its own segments.
with shares as (
    select
        segment.machine_id,
        segment.start_ts,
        segment.cycle_time_s,
        production_count.good_count,
        production_count.reject_count,
        extract(epoch from segment.end_ts - segment.start_ts)::double precision
        / extract(epoch from production_count.end_ts - production_count.start_ts)::double precision
            as fraction
    from {{ ref('stg_machine_data__production_count') }} as production_count
    inner join {{ ref('int_machine_segment') }} as segment
        on
            production_count.machine_id = segment.machine_id
            and production_count.start_ts <= segment.start_ts
            and production_count.end_ts > segment.start_ts
)

select
    machine_id,
    start_ts,
    sum(good_count * fraction) as good_count,
    sum(reject_count * fraction) as reject_count,
    sum((good_count + reject_count) * fraction * cycle_time_s) as ideal_run_s
from shares
group by machine_id, start_ts
