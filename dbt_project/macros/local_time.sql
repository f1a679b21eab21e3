{#- The centre's clock. Every timestamp is stored in UTC; day, week and month boundaries,
    and business hours, are the centre's local ones (var('centre_timezone')). The engine
    specific spelling is dispatched so the models build on DuckDB and Spark alike. -#}

{% macro to_local_time(column) -%}
    {{ return(adapter.dispatch('to_local_time', 'beacon')(column)) }}
{%- endmacro %}

{% macro default__to_local_time(column) -%}
    {%- if var('centre_timezone', 'UTC') == 'UTC' -%}
        {{ column }}
    {%- else -%}
        (({{ column }}) at time zone 'UTC') at time zone '{{ var("centre_timezone") }}'
    {%- endif -%}
{%- endmacro %}

{% macro spark__to_local_time(column) -%}
    from_utc_timestamp({{ column }}, '{{ var("centre_timezone", "UTC") }}')
{%- endmacro %}

{#- The centre's calendar day of a UTC timestamp. -#}
{% macro local_date(column) -%}
    cast({{ to_local_time(column) }} as date)
{%- endmacro %}

{#- ISO weekday (1 = Monday … 7 = Sunday) of a date or timestamp. -#}
{% macro iso_weekday(column) -%}
    {{ return(adapter.dispatch('iso_weekday', 'beacon')(column)) }}
{%- endmacro %}

{% macro default__iso_weekday(column) -%}
    isodow({{ column }})
{%- endmacro %}

{% macro spark__iso_weekday(column) -%}
    (weekday({{ column }}) + 1)
{%- endmacro %}

{#- Minutes after local midnight of var('business_hours_start' / 'business_hours_end'), 'HH:MM'. -#}
{% macro _minutes_of(clock) -%}
    {%- set parts = (clock | string).split(':') -%}
    {{- (parts[0] | int) * 60 + (parts[1] | int if parts | length > 1 else 0) -}}
{%- endmacro %}

{#- True when a UTC timestamp falls within the centre's business hours: a business day
    (var('business_days'), ISO weekdays) between business_hours_start (inclusive) and
    business_hours_end (exclusive), local time. -#}
{% macro is_in_business_hours(column) -%}
    {%- set local = to_local_time(column) -%}
    (
        {{ iso_weekday(local) }} in ({{ var('business_days') | join(', ') }})
        and extract(hour from {{ local }}) * 60 + extract(minute from {{ local }})
            >= {{ _minutes_of(var('business_hours_start')) }}
        and extract(hour from {{ local }}) * 60 + extract(minute from {{ local }})
            < {{ _minutes_of(var('business_hours_end')) }}
    )
{%- endmacro %}

{#- A percentile of a column within a group (p between 0 and 1), interpolated. -#}
{% macro percentile(column, p) -%}
    {{ return(adapter.dispatch('percentile', 'beacon')(column, p)) }}
{%- endmacro %}

{% macro default__percentile(column, p) -%}
    percentile_cont({{ p }}) within group (order by {{ column }})
{%- endmacro %}

{% macro spark__percentile(column, p) -%}
    percentile({{ column }}, {{ p }})
{%- endmacro %}
