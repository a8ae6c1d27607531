{#
  What a build recomputes (int_rollup_scope): per machine, runs of shift dates and the window of
  time that holds all their periods. A row of a rollup is in scope when its machine (or line)
  has a run holding its shift date (`shift_date`: an expression, by default the row's column),
  or, by hour, a window holding its hour.
  `since` names a column of the row that is never before the start of the row's window (an hour
  or a period start: a shift date's periods begin at its local midnight or later; by hour, the
  hour itself): bounded by the scope's earliest instant (a test on the row alone: PostgreSQL
  applies it to the row's scan), the rows of the scope are read through its index, not the whole
  history.
#}
{% macro in_rollup_scope(row, key='machine_id', hour=none, shift_date=none, since=none) -%}
    {%- set since = since or hour -%}
    exists (
        select
        from {{ ref('int_rollup_scope') }} as scope
        where
            {% if since %}{{ row }}.{{ since }} >= {{ rollup_scope_start() }} and {% endif -%}
            scope.{{ key }} = {{ row }}.{{ key }}
            {%- if hour is none %}
                and {{ shift_date or row ~ '.shift_date' }}
                between scope.first_date and scope.last_date
            {%- else %}
                and {{ row }}.{{ hour }} >= date_trunc('hour', scope.window_start, 'UTC')
                and {{ row }}.{{ hour }} < scope.window_end
            {%- endif %}
    )
{%- endmacro %}

{#
  The earliest instant of the build's scope, as a literal read when the model runs: joined to
  the windows of int_rollup_scope alone, PostgreSQL cannot tell how much of a table they cover
  (it assumes a third of it) and scans all of it; a bound it can read off its statistics keeps
  it to the index over the recent rows. 'infinity' when the scope is empty.
#}
{% macro rollup_scope_start() -%}
    {%- set query -%}
        select coalesce(min(window_start), 'infinity')::text from {{ ref('int_rollup_scope') }}
    {%- endset -%}
    '{{ run_query(query).columns[0].values()[0] if execute else 'infinity' }}'::timestamptz
{%- endmacro %}

{# Whether this build recomputes a row: all rows when it rebuilds everything, else its scope. #}
{% macro rollup_recomputes(row, key='machine_id', hour=none, shift_date=none) -%}
    ((select rebuild_all from {{ ref('int_rollup_build') }})
    or {{ in_rollup_scope(row, key, hour, shift_date) }})
{%- endmacro %}

{#
  The pre-hook of an incremental rollup: the rows the build recomputes go first, then the model
  appends them anew, in one transaction. Two statements, not one test with `or`: an `or` keeps
  PostgreSQL from joining the table to the scope, and it tests every row of the history.
#}
{% macro rollup_replaces(key='machine_id', hour=none, since=none) -%}
    {%- if is_incremental() -%}
        {{ delete_all_when_rebuilt() }};
        delete from {{ this }} as target
        where {{ in_rollup_scope('target', key, hour, since=since) }}
    {%- endif -%}
{%- endmacro %}

{# Every row of `this` goes when the build rebuilds everything (int_rollup_build). #}
{% macro delete_all_when_rebuilt() -%}
    delete from {{ this }} where (select rebuild_all from {{ ref('int_rollup_build') }})
{%- endmacro %}

{#
  A post-hook of the checks on the rollups (int_data_quality_issue, `this`): the issues of
  `checks` on the periods this build recomputed that the checks no longer find go (late data
  cleared them). An issue keeps its shift date in its details.
#}
{% macro drop_cleared_issues(checks) -%}
    delete from curated.data_quality_issue as issue
    where
        issue.check_name in ('{{ checks | join("', '") }}')
        and {{ rollup_recomputes('issue', shift_date="(issue.details ->> 'shift_date')::date") }}
        and not exists (select from {{ this }} as found where found.issue_id = issue.issue_id)
{%- endmacro %}

{#
  Whether this build may recompute only what changed: not asked to rebuild (--full-refresh),
  and every incremental rollup exists; a missing one (a new warehouse, a dropped table) is
  created whole by a build that recomputes everything.
#}
{% macro rollup_increments() -%}
    {%- if execute -%}
        {%- if flags.FULL_REFRESH -%}
            {{ return(false) }}
        {%- endif -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.config.materialized == 'incremental' -%}
            {%- if adapter.get_relation(node.database, node.schema, node.alias) is none -%}
                {{ return(false) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(true) }}
{%- endmacro %}

{#
  on-run-end: once every incremental rollup of this invocation succeeded, the changes its scope
  consumed are deleted and its now and plant fingerprint become the watermark, in one statement.
  A failed or partial build leaves both, and the next build recomputes that scope again.
#}
{% macro record_rollup_build(results) -%}
    {%- if execute -%}
        {%- set succeeded = {} -%}
        {%- for result in results if result.node.resource_type == 'model'
            and result.status == 'success' -%}
            {%- do succeeded.update({result.node.name: result.node.relation_name}) -%}
        {%- endfor -%}
        {%- set required = ['int_rollup_build'] -%}
        {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.config.materialized == 'incremental' -%}
            {%- do required.append(node.name) -%}
        {%- endfor -%}
        {%- if required | reject('in', succeeded) | list | length == 0 -%}
            with consumed as (
                delete from raw.rollup_change
                where change_id in (select unnest(change_ids) from {{ succeeded['int_rollup_build'] }})
            ),

            previous as (
                delete from raw.rollup_watermark
            )

            insert into raw.rollup_watermark (built_now, plant_fingerprint)
            select built_now, plant_fingerprint from {{ succeeded['int_rollup_build'] }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
