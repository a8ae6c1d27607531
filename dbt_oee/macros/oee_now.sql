{#
  The instant the rollups take as now: the var `oee_now` when a run pins it, otherwise the
  database's now(). Every model asks this macro, none reads the clock, so a test or a re-run
  "as of" a past instant gives the same rows whenever it runs. The Dagster asset passes the
  instant in UTC with its offset (it refuses one without); on the dbt command line, give the
  offset too (2026-11-23T06:10:00+00:00), or PostgreSQL reads the session's timezone.
#}
{% macro oee_now() -%}
    {%- set pinned = var('oee_now') -%}
    {%- if pinned is none -%}
        now()
    {%- else -%}
        '{{ pinned }}'::timestamptz
    {%- endif -%}
{%- endmacro %}
