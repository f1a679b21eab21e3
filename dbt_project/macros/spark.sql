{#- Apache Spark as the engine (docs/spark.md). The models are the same on every engine; what
    Spark needs besides the dispatched expressions of cross_db.sql and local_time.sql is here:
    its sources, and what stands in for the `replace_scope` incremental strategy. -#}

{#- on-run-start: make the sources resolvable. DuckDB holds them in its `raw` schema already.
    On Spark, with BEACON_SPARK_RAW_DIR set (the folder `beacon export-raw` wrote), every
    source table of the `raw` schema becomes a view `raw.<table>` over its Parquet dataset
    (folder: the table's name without a leading underscore, which Spark would take as hidden),
    with the raw table's columns: the derived `day` partition of the feed tables is left out,
    and timestamps written without a zone (TIMESTAMP_NTZ) read as Spark timestamps (the
    session's zone is UTC, so the wall-clock values are the stored UTC ones). Without it, the
    `raw.*` tables must already be in the cluster's metastore. -#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'beacon')()) }}
{%- endmacro %}

{% macro default__register_raw_sources() -%}
    {#- the warehouse's own raw schema is the source: nothing to register -#}
{%- endmacro %}

{% macro spark__register_raw_sources() -%}
    {%- set raw_dir = env_var('BEACON_SPARK_RAW_DIR', '') -%}
    {%- if execute and raw_dir -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- set registered = [] -%}
        {%- for source in graph.sources.values() | sort(attribute='identifier') -%}
            {%- if source.schema == 'raw' and source.identifier not in registered -%}
                {%- do registered.append(source.identifier) -%}
                {%- set location = 'parquet.`' ~ raw_dir.rstrip('/') ~ '/' ~ source.identifier.lstrip('_') ~ '`' -%}
                {%- set described = run_query('describe query select * from ' ~ location) -%}
                {%- set columns = [] -%}
                {%- for row in described.rows if row[0] != 'day' -%}
                    {%- set name = '`' ~ row[0] ~ '`' -%}
                    {%- if row[1] | lower == 'timestamp_ntz' -%}
                        {%- do columns.append('cast(' ~ name ~ ' as timestamp) as ' ~ name) -%}
                    {%- else -%}
                        {%- do columns.append(name) -%}
                    {%- endif -%}
                {%- endfor -%}
                {%- do run_query(
                    'create or replace view raw.`' ~ source.identifier ~ '` as select '
                    ~ columns | join(', ') ~ ' from ' ~ location
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do log('raw sources registered from ' ~ raw_dir ~ ': ' ~ registered | join(', '), info=true) -%}
    {%- endif -%}
{%- endmacro %}

{#- The `replace_scope` incremental strategy (incremental.sql) deletes and inserts rows in
    place, which Spark's plain Parquet tables cannot do (Delta or Iceberg could). On Spark a
    model with this strategy is rebuilt whole on every run: the project sets `full_refresh`
    for the Spark target (dbt_project.yml), so `is_incremental()` is false and dbt-spark's
    incremental materialization replaces the table, exactly like a `--full-refresh` build.
    dbt-spark's validation knows only its own strategies; it is extended here to accept
    `replace_scope` on a full refresh, and to refuse an incremental run that would need it. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy == 'replace_scope' -%}
        {%- if not should_full_refresh() -%}
            {%- do exceptions.raise_compiler_error(
                "incremental strategy 'replace_scope' runs on Spark only as a full rebuild: "
                ~ "run with --full-refresh (docs/spark.md)"
            ) -%}
        {%- endif -%}
        {{- return(raw_strategy) -}}
    {%- endif -%}
    {{- return(dbt_spark.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) -}}
{%- endmacro %}
