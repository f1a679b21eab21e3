{#- Data tests of an incremental build check the rows written since the last tested build.

    `unique` and `not_null` on a table with `_built_run` (the incremental models and the
    marts built from them) scan the whole table on every build, though an incremental build
    rewrites a few per cent of it. Every row those tests passed on stays as it was until a
    build rewrites it (and stamps `_built_run`), so a build needs to check only the rows
    written since the last build whose tests all passed (`transform.builds.tests_passed`,
    recorded by beacon/transform.py): a value of such a row that is null, or that occurs
    in the table more than once. A full build, a build after a failed test (its rows are
    still unproven) and dbt run by hand (no recorded build) test every row, as dbt's own
    tests do. -#}

{#- The id after which rows are unproven: the newest earlier build whose models and tests
    all passed; none when every row must be tested. -#}
{% macro tested_watermark(model) -%}
    {%- set build = current_build() -%}
    {%- if not execute or build['everything'] -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(model) | map(attribute='name') | list -%}
    {%- if '_built_run' not in columns -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select max(build_id) from transform.builds where tests_passed and build_id < "
        ~ (build['build_id'] | int)
    ).rows -%}
    {{ return(rows[0][0] if rows | length > 0 else none) }}
{%- endmacro %}

{% macro default__test_unique(model, column_name) -%}
    {%- set since = tested_watermark(model) -%}
    {%- if since is none -%}
        {{ dbt.default__test_unique(model, column_name) }}
    {%- else -%}
select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} in (
    select {{ column_name }} from {{ model }} where _built_run > {{ since }}
)
group by {{ column_name }}
having count(*) > 1
    {%- endif -%}
{%- endmacro %}

{% macro default__test_not_null(model, column_name) -%}
    {%- set since = tested_watermark(model) -%}
    {%- if since is none -%}
        {{ dbt.default__test_not_null(model, column_name) }}
    {%- else -%}
select {{ column_name }}
from {{ model }}
where _built_run > {{ since }} and {{ column_name }} is null
    {%- endif -%}
{%- endmacro %}
