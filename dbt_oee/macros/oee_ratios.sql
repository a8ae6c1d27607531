{#
  The OEE factors from summed times and counts (contracts.md section 3). Every rollup calls
  this on its own sums, so a line or a day is never an average of ratios. A division by zero
  gives NULL, and NULL in any factor makes OEE NULL.
#}
{% macro oee_ratios() -%}
    run_s / nullif(planned_production_s, 0) as availability,
    ideal_run_s / nullif(run_s, 0) as performance,
    good_count / nullif(total_count, 0) as quality,
    (run_s / nullif(planned_production_s, 0))
        * (ideal_run_s / nullif(run_s, 0))
        * (good_count / nullif(total_count, 0)) as oee
{%- endmacro %}
