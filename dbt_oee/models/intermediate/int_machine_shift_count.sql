{{ config(indexes=[{'columns': ['machine_id', 'period_start'], 'unique': True}]) }}

-- Parts per machine and shift: a counting interval is booked whole to the shift it starts in.
select
    spine.machine_id,
    spine.period_start,
    sum(production_count.good_count)::bigint as good_count,
    sum(production_count.reject_count)::bigint as reject_count
from {{ ref('int_machine_shift') }} as spine
inner join {{ ref('stg_machine_data__production_count') }} as production_count
    on
        spine.machine_id = production_count.machine_id
        and spine.period_start <= production_count.start_ts
        and spine.period_end > production_count.start_ts
group by spine.machine_id, spine.period_start
