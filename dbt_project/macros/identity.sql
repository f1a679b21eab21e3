{#- Identity normalisation used to match contacts to CRM customers. Phone numbers arrive
    in E.164 (or as keyed hashes) from ingest: docs/ingest.md, "Identity and PII". -#}

{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{% macro normalize_code(column) -%}
    {#- wrap-up codes, queues and groups: case and spacing do not make a different reason -#}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}
