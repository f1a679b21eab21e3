{#- Incremental builds (docs/metrics.md, "Incremental builds").

    beacon/transform.py records every build in transform.builds before it calls dbt (status
    'running', the build's id in BEACON_BUILD_ID): the range of ingest runs it covers
    (since_run exclusive, upto_run inclusive). The models read the event days those runs
    changed (raw._changed_days) and rebuild only what depends on them: tickets and calls by
    id, customers (stitching is per customer), issues whose as-of-dependent flags moved, and
    the days, weeks and months of the marts those rows fall on. A run of dbt by hand has no
    recorded build: an incremental model then rebuilds all its rows (the same result as a full
    refresh, just not faster). -#}

{#- The build dbt is running for: {'build_id', 'since_run', 'upto_run', 'everything',
    'tested_build', 'tested_upto_run'}; the last two name the newest earlier build whose
    models and tests all passed (macros/scoped_tests.sql), none if there is none.
    beacon/transform.py names it in the environment (BEACON_BUILD_ID) of the dbt it invokes;
    without it (dbt run by hand) every incremental model rebuilds all its rows. -#}
{% macro current_build() -%}
    {%- set build = {
        'build_id': 0, 'since_run': none, 'upto_run': none, 'everything': true,
        'tested_build': none, 'tested_upto_run': none,
    } -%}
    {%- set build_id = env_var('BEACON_BUILD_ID', '') if execute else '' -%}
    {%- if build_id | length > 0 -%}
        {%- set relation = adapter.get_relation(database=target.database, schema='transform', identifier='builds') -%}
        {%- if relation is not none -%}
            {%- set rows = run_query(
                "select build.build_id, build.since_run, build.upto_run, tested.build_id, "
                ~ "tested.upto_run from " ~ relation ~ " as build left join " ~ relation
                ~ " as tested on tested.build_id = (select max(build_id) from " ~ relation
                ~ " where tests_passed and build_id < build.build_id)"
                ~ " where build.status = 'running' and build.build_id = " ~ (build_id | int)
            ).rows -%}
            {%- if rows | length > 0 -%}
                {%- do build.update({
                    'build_id': rows[0][0],
                    'since_run': rows[0][1],
                    'upto_run': rows[0][2],
                    'everything': rows[0][1] is none,
                    'tested_build': rows[0][3],
                    'tested_upto_run': rows[0][4],
                }) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{- return(build) -}}
{%- endmacro %}

{#- The build id written to every row a build (re)writes: `_built_run`. -#}
{% macro built_run() -%}
    cast({{ current_build()['build_id'] }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- Whether this incremental run rebuilds every row (a build with no watermark). -#}
{% macro rebuilds_everything() -%}
    {{- return(current_build()['everything']) -}}
{%- endmacro %}

{#- `column` is one of this build's rebuild keys of `key_type` (int_rebuild_scope), or
    `true` when the build rebuilds everything. -#}
{% macro in_rebuild_scope(key_type, column) -%}
    {%- if rebuilds_everything() -%}
        true
    {%- else -%}
        {{ column }} in (
            select key_value from {{ ref('int_rebuild_scope') }} where key_type = '{{ key_type }}'
        )
    {%- endif -%}
{%- endmacro %}

{#- `column` is a customer whose contacts this build re-stitches (int_rebuild_customers). -#}
{% macro in_rebuilt_customers(column) -%}
    {%- if rebuilds_everything() -%}
        true
    {%- else -%}
        {{ column }} in (select customer_id from {{ ref('int_rebuild_customers') }})
    {%- endif -%}
{%- endmacro %}

{#- `column` is an agent whose team changed in this build. -#}
{% macro in_changed_agents(column) -%}
    {%- if rebuilds_everything() -%}
        true
    {%- else -%}
        {{ column }} in (select agent_id from {{ ref('int_agents_assigned_to_teams') }} where is_team_changed)
    {%- endif -%}
{%- endmacro %}

{#- The row's `_built_run` column says this build wrote (changed) it. -#}
{% macro is_built_now(column='_built_run') -%}
    {%- if rebuilds_everything() -%}
        true
    {%- else -%}
        {{ column }} = {{ built_run() }}
    {%- endif -%}
{%- endmacro %}

{#- `column` is a local day (grain 'day'), week or month whose rows a mart recomputes in this
    build: those of the local days of every event day ingest changed (the old and the new day
    of a corrected record; a UTC day covers at most two local days), and of every fact row
    the build rewrote. `true` when the build rebuilds everything. -#}
{% macro in_rebuilt_periods(column, grain='day') -%}
    {%- if rebuilds_everything() -%}
        true
    {%- else -%}
        {%- set period = 'local_day' if grain == 'day' else 'cast(' ~ dbt.date_trunc(grain, 'local_day') ~ ' as date)' -%}
        {{ column }} in (
            select distinct {{ period }} from (
                select {{ local_date('cast(cast(key_value as date) as timestamp)') }} as local_day
                from {{ ref('int_rebuild_scope') }}
                where key_type in ('day:calls', 'day:tickets')
                union
                select {{ local_date("cast(cast(key_value as date) as timestamp) + interval '86399' second") }}
                from {{ ref('int_rebuild_scope') }}
                where key_type in ('day:calls', 'day:tickets')
                union
                select arrived_date from {{ ref('fct_call_legs') }} where _built_run = {{ built_run() }}
                union
                select started_date from {{ ref('fct_contacts') }} where _built_run = {{ built_run() }}
                union
                select created_date from {{ ref('fct_tickets') }} where _built_run = {{ built_run() }}
                union
                select issue_started_date from {{ ref('fct_issues') }} where _built_run = {{ built_run() }}
            ) as rebuilt_days
        )
    {%- endif -%}
{%- endmacro %}

{#- The relation a model had after the previous build, read before this build rewrites it
    (a scope model reads the old state of the models downstream of it); none if absent. -#}
{% macro previous_relation(model_name) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ model_name) -%}
    {{- return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) -}}
{%- endmacro %}

{#- Incremental strategy `replace_scope`: the model's new rows replace the target's rows with
    the same `unique_key`, and the target's rows matching config `meta.rebuild_scope` (a
    predicate over the target's columns, rendered when the model runs) that the new rows do
    not repeat are deleted: the scope removes what no longer exists (a customer whose only
    contact now resolves to someone else keeps no stale issue; a reopen whose status change
    was corrected away leaves no contact behind). Rows identical to the stored ones (every
    column but `_built_run`) are left alone, so `_built_run` names the build that last
    changed a row, and what a build changed is all that the models downstream recompute.
    `meta.grain` lists the columns that identify a row (default: `unique_key`).

    A model with a `_row_hash` column (`row_hash()`: a hash of every other column but
    `_built_run`) is compared by grain and that hash: two columns of the stored table are
    read instead of all of them, which at 10 M rows is most of an incremental model's time
    (docs/benchmarks.md). A changed row whose hash collides with its stored one (1 in 2^63)
    would be kept as it was; a full refresh rewrites it. -#}
{% macro get_incremental_replace_scope_sql(arg_dict) -%}
    {%- set target_relation = arg_dict['target_relation'] -%}
    {%- set temp_relation = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set meta = config.get('meta') or {} -%}
    {%- set scope = meta.get('rebuild_scope') -%}
    {%- set grain = meta.get('grain') or [unique_key] -%}
    {%- set names = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set compared = grain + ['_row_hash'] if '_row_hash' in names
        else names | reject('equalto', '_built_run') | list -%}
    {%- set columns = get_quoted_csv(names) -%}
    {%- set unchanged = adapter.quote(this.identifier ~ '__unchanged') -%}
    create or replace temporary table {{ unchanged }} as
    select {% for column in grain %}new_rows.{{ adapter.quote(column) }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ temp_relation }} as new_rows
    inner join {{ target_relation }} as old_rows
        on {% for column in compared -%}
        new_rows.{{ adapter.quote(column) }} is not distinct from old_rows.{{ adapter.quote(column) }}
        {{- ' and ' if not loop.last }}
        {%- endfor %};

    delete from {{ target_relation }} as old_rows
    where (
        {{ unique_key }} in (select {{ unique_key }} from {{ temp_relation }})
        {%- if scope %}
        or ({{ render(scope) }})
        {%- endif %}
    )
    and not exists (
        select 1 from {{ unchanged }} as kept
        where {% for column in grain -%}
            kept.{{ adapter.quote(column) }} = old_rows.{{ adapter.quote(column) }}{{ ' and ' if not loop.last }}
        {%- endfor %}
    );

    insert into {{ target_relation }} ({{ columns }})
    select {{ columns }} from {{ temp_relation }} as new_rows
    where not exists (
        select 1 from {{ unchanged }} as kept
        where {% for column in grain -%}
            kept.{{ adapter.quote(column) }} = new_rows.{{ adapter.quote(column) }}{{ ' and ' if not loop.last }}
        {%- endfor %}
    );

    drop table {{ unchanged }};
{%- endmacro %}
