{{ config(indexes=[{'columns': ['machine_id', 'period_start', 'state'], 'unique': True}]) }}

-- Seconds per machine, shift and state: the overlap of every state interval with the shift
-- period (an interval still open lasts until now). A machine-shift without any state has no
-- row; a gap between states is time in no state, which the rollups count as lost.
select
    spine.machine_id,
    spine.period_start,
    machine_state.state,
    sum(
        extract(
            epoch from
            least(coalesce(machine_state.end_ts, {{ oee_now() }}), spine.period_end)
            - greatest(machine_state.start_ts, spine.period_start)
        )::double precision
    ) as duration_s
from {{ ref('int_machine_shift') }} as spine
inner join {{ ref('stg_machine_data__machine_state') }} as machine_state
    on
        spine.machine_id = machine_state.machine_id
        and spine.period_end > machine_state.start_ts
        and coalesce(machine_state.end_ts, {{ oee_now() }}) > spine.period_start
group by spine.machine_id, spine.period_start, machine_state.state
