{#
  The instant the rollups take as now: the var `oee_now` when a run pins it (ISO 8601 with its
  offset), otherwise the database's now(). Every model asks this macro, none reads the clock, so
  a test or a re-run "as of" a past instant gives the same rows whenever it runs.
#}
{% macro oee_now() -%}
    {%- set pinned = var('oee_now') -%}
    {%- if pinned is none -%}
        now()
    {%- else -%}
        {%- set instant = modules.datetime.datetime.fromisoformat(pinned | string) -%}
        {%- if instant.tzinfo is none -%}
            {{ exceptions.raise_compiler_error(
                "var oee_now needs a UTC offset, e.g. 2026-11-23T06:10:00+00:00; got " ~ pinned
            ) }}
        {%- endif -%}
        '{{ instant.isoformat() }}'::timestamptz
    {%- endif -%}
{%- endmacro %}
