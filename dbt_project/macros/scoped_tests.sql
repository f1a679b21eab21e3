{#- Data tests of an incremental build check the rows written since the last tested build.

    `unique` and `not_null` on a table with `_built_run` (the incremental models and the
    marts built from them) or `_file_id` (the raw feeds) scan the whole table on every build,
    though a day adds or rewrites a few per cent of it. Every row those tests passed on stays
    as it was until a build (or ingest) rewrites it, so a build needs to check only the rows
    written since the last build whose tests all passed (`transform.builds.tests_passed`,
    recorded by beacon/transform.py): a value of such a row that is null, or that occurs
    in the table more than once. A full build, a build after a failed test (its rows are
    still unproven) and dbt run by hand (no recorded build) test every row, as dbt's own
    tests do. -#}

{#- A predicate over `model`'s rows that selects those not yet proven: written since the
    newest earlier build whose models and tests all passed. `_built_run` (a model's rows)
    names the build that wrote a row; `_file_id` (a raw feed's rows) the landed file, and
    raw._changed_days the ingest run that loaded it: a file of a run after that build's
    `upto_run`. Every row ingest inserts or updates has an event time (the contracts require
    it) and so a changed day of its file's run. None when every row must be tested. -#}
{% macro unproven_rows(model) -%}
    {%- set build = current_build() -%}
    {%- if not execute or build['everything'] or build['tested_build'] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(model) | map(attribute='name') | list -%}
    {%- if '_built_run' in columns -%}
        {{ return('_built_run > ' ~ build['tested_build']) }}
    {%- elif '_file_id' in columns and build['tested_upto_run'] is not none -%}
        {%- set changes = graph.sources['source.' ~ project_name ~ '.changes._changed_days'] -%}
        {%- set changed_days = api.Relation.create(
            database=changes.database, schema=changes.schema, identifier=changes.identifier
        ) -%}
        {{ return(
            '_file_id in (select file_id from ' ~ changed_days
            ~ ' where run_id > ' ~ build['tested_upto_run'] ~ ')'
        ) }}
    {%- else -%}
        {{ return(none) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__test_unique(model, column_name) -%}
    {%- set unproven = unproven_rows(model) -%}
    {%- if unproven is none -%}
        {{ dbt.default__test_unique(model, column_name) }}
    {%- else -%}
select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} in (
    select {{ column_name }} from {{ model }} where {{ unproven }}
)
group by {{ column_name }}
having count(*) > 1
    {%- endif -%}
{%- endmacro %}

{% macro default__test_not_null(model, column_name) -%}
    {%- set unproven = unproven_rows(model) -%}
    {%- if unproven is none -%}
        {{ dbt.default__test_not_null(model, column_name) }}
    {%- else -%}
select {{ column_name }}
from {{ model }}
where ({{ unproven }}) and {{ column_name }} is null
    {%- endif -%}
{%- endmacro %}
