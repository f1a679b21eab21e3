{#- Models that Beacon no longer has: their work moved into another model. dbt never drops a
    relation it stops defining, so a warehouse built by an earlier version would keep a stale
    copy that nothing refreshes and a BI tool could still read. Every run drops them first
    (on-run-start); a warehouse that never had them is not touched. -#}
{% macro drop_retired_models() -%}
    {%- set retired = [
        ('intermediate', 'int_contacts_unioned'),
        ('intermediate', 'int_contacts_attributed'),
        ('intermediate', 'int_contacts_stitched_into_issues'),
    ] -%}
    {%- if execute -%}
        {%- for schema, identifier in retired -%}
            {%- set relation = adapter.get_relation(database=target.database, schema=schema, identifier=identifier) -%}
            {%- if relation is not none -%}
                {%- do log('dropping the retired model ' ~ relation, info=true) -%}
                {%- do adapter.drop_relation(relation) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
