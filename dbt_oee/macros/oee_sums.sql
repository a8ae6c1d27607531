{#
  The sums of a rollup from the rows below it (machine-shifts, line-shifts): times and counts
  are added up first, and oee_ratios() divides them afterwards. Counts are sums of shares of
  count intervals split over periods, hence double precision.
#}
{% macro oee_sums() -%}
    min(period_start) as period_start,
    max(period_end) as period_end,
    sum(planned_production_s) as planned_production_s,
    sum(run_s) as run_s,
    sum(planned_downtime_s) as planned_downtime_s,
    sum(unplanned_downtime_s) as unplanned_downtime_s,
    sum(ideal_run_s) as ideal_run_s,
    sum(total_count) as total_count,
    sum(good_count) as good_count,
    sum(reject_count) as reject_count
{%- endmacro %}

{# The measures of every oee_* table, after its keys (contracts.md section 2). #}
{% macro oee_measures() -%}
    planned_production_s,
    run_s,
    planned_downtime_s,
    unplanned_downtime_s,
    ideal_run_s,
    total_count,
    good_count,
    reject_count,
    {{ oee_ratios() }},
    loss_model
{%- endmacro %}

{#
  The sums of machine slices (int_machine_slice) for any grouping of them: the hours and the
  shift periods add up the same way. Planned production is run plus unplanned downtime (the
  time model).
#}
{% macro slice_sums() -%}
    min(loss_model) as loss_model,
    sum(run_s) + sum(unplanned_downtime_s) as planned_production_s,
    sum(run_s) as run_s,
    sum(planned_downtime_s) as planned_downtime_s,
    sum(unplanned_downtime_s) as unplanned_downtime_s,
    sum(ideal_run_s) as ideal_run_s,
    sum(good_count) + sum(reject_count) as total_count,
    sum(good_count) as good_count,
    sum(reject_count) as reject_count
{%- endmacro %}
