{#
  The instant the rollups take as now: the environment variable OEE_DBT_NOW when a run pins it,
  otherwise (unset or empty) the database's now(). Every model asks this macro, none reads the
  clock, so a test or a re-run "as of" a past instant gives the same rows whenever it runs. The
  Dagster asset passes the instant in UTC with its offset (it refuses one without); by hand,
  give the offset too (2026-11-23T06:10:00+00:00), or PostgreSQL reads the session's timezone.
  Read only when executing, never while parsing: dbt re-parses every file whose parse read a
  changed environment variable (or var), and now changes with every hourly build.
#}
{% macro oee_now() -%}
    {%- set pinned = env_var('OEE_DBT_NOW', '') if execute else '' -%}
    {%- if pinned == '' -%}
        now()
    {%- else -%}
        '{{ pinned }}'::timestamptz
    {%- endif -%}
{%- endmacro %}
