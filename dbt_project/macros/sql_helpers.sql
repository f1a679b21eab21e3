{% macro seconds_between(start_column, end_column) -%}
    {{ dbt.datediff(start_column, end_column, 'second') }}
{%- endmacro %}

{#- The moment maturity is judged against: var('as_of') if set, else the newest event seen. -#}
{% macro as_of_timestamp(newest_event_expression) -%}
    {%- if var('as_of', '') -%}
        cast('{{ var("as_of") }}' as timestamp)
    {%- else -%}
        ({{ newest_event_expression }})
    {%- endif -%}
{%- endmacro %}

{#- A row's fingerprint for incremental builds: a 63-bit hash of every column of the
    model's `final` but `_built_run` (the build that wrote the row). A model that ends
    `select *, {{ row_hash() }} as _row_hash from final` is compared with its stored rows by
    key and this hash (macros/incremental.sql, replace_scope). Spark builds are always full
    and never compare: null there. -#}
{% macro row_hash() -%}
    {{ return(adapter.dispatch('row_hash', 'beacon')()) }}
{%- endmacro %}

{% macro default__row_hash() -%}
    cast(hash(*columns(* exclude (_built_run))) >> 1 as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro spark__row_hash() -%}
    cast(null as bigint)
{%- endmacro %}

{#- Window helpers whose null handling is spelled differently per engine. Use with an
    explicit frame in the over() clause. -#}
{% macro last_non_null(expression) -%}
    {{ return(adapter.dispatch('last_non_null', 'beacon')(expression)) }}
{%- endmacro %}

{% macro default__last_non_null(expression) -%}
    last_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro spark__last_non_null(expression) -%}
    last({{ expression }}, true)
{%- endmacro %}

{% macro first_non_null(expression) -%}
    {{ return(adapter.dispatch('first_non_null', 'beacon')(expression)) }}
{%- endmacro %}

{% macro default__first_non_null(expression) -%}
    first_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro spark__first_non_null(expression) -%}
    first({{ expression }}, true)
{%- endmacro %}

{#- The value of `expression` on the row with the greatest `order_by` of a group, NULL
    included (DuckDB's `arg_max` would skip a NULL value): a group's "last" value in one
    pass, without joining the group's last row back. `order_by` must be unique in the group. -#}
{% macro value_at_max(expression, order_by) -%}
    {{ return(adapter.dispatch('value_at_max', 'beacon')(expression, order_by)) }}
{%- endmacro %}

{% macro default__value_at_max(expression, order_by) -%}
    arg_max_null({{ expression }}, {{ order_by }})
{%- endmacro %}

{% macro spark__value_at_max(expression, order_by) -%}
    max_by({{ expression }}, {{ order_by }})
{%- endmacro %}

{#- A sum that does not depend on the order rows are added in. Floating-point addition is
    not associative, so a parallel engine can return a different last digit on every run
    for the same data; summing fixed-point decimals is exact, so rebuilding the same data
    gives the same marts to the last bit. `scale` is the number of decimal places kept per
    row (seconds: 3, money: 6). -#}
{% macro exact_sum(expression, scale=3) -%}
    cast(sum(cast({{ expression }} as decimal(38, {{ scale }}))) as double)
{%- endmacro %}
