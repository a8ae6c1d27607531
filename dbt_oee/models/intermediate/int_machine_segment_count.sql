{{ config(indexes=[{'columns': ['machine_id', 'start_ts'], 'unique': True}]) }}

-- The parts of each segment: every count interval split over the segments it covers in
-- proportion to time (segments are cut at every count boundary, so each lies inside or outside
-- a count interval), and those parts at the cycle time in force in the segment. The join is
-- bounded on the segment's start from both sides, so each count reads only its own segments.
select
    segment.machine_id,
    segment.start_ts,
    sum(
        production_count.good_count * share.fraction
    ) as good_count,
    sum(
        production_count.reject_count * share.fraction
    ) as reject_count,
    sum(
        (production_count.good_count + production_count.reject_count)
        * share.fraction * segment.cycle_time_s
    ) as ideal_run_s
from {{ ref('stg_machine_data__production_count') }} as production_count
inner join {{ ref('int_machine_segment') }} as segment
    on
        production_count.machine_id = segment.machine_id
        and segment.start_ts >= production_count.start_ts
        and segment.start_ts < production_count.end_ts
cross join lateral (
    select
        extract(epoch from segment.end_ts - segment.start_ts)::double precision
        / extract(epoch from production_count.end_ts - production_count.start_ts)::double precision
            as fraction
) as share
group by segment.machine_id, segment.start_ts
