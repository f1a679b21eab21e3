{#- Identity normalisation used to match contacts to CRM customers. Engine differences live
    in the dispatched implementations only. -#}

{% macro normalize_phone(column) -%}
    {{ return(adapter.dispatch('normalize_phone', 'beacon')(column)) }}
{%- endmacro %}

{% macro default__normalize_phone(column) -%}
    nullif(regexp_replace(trim({{ column }}), '[^0-9+]', '', 'g'), '')
{%- endmacro %}

{% macro spark__normalize_phone(column) -%}
    nullif(regexp_replace(trim({{ column }}), '[^0-9+]', ''), '')
{%- endmacro %}

{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{% macro normalize_code(column) -%}
    {#- wrap-up codes, queues and groups: case and spacing do not make a different reason -#}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}
