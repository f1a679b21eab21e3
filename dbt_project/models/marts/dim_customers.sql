-- Customers' commercial attributes as they changed (type 2): one row per customer per
-- period in which their CRM attributes held. Facts join the version valid at their time
-- (valid_from <= t < valid_to, an open valid_to for the current one). Identity values
-- (phone, email) stay in the intermediate layer: they are PII and only used for matching.
-- Incremental: the histories of the customers with a changed CRM event.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='customer_version_id',
    meta={'rebuild_scope': "{{ in_rebuild_scope('crm_customer', 'customer_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}

with

customer_versions as (

    select * from {{ ref('int_customer_versions_built') }}
    {% if is_incremental() %}
    where {{ in_rebuild_scope('crm_customer', 'customer_id') }}
    {% endif %}

),

final as (

    select
        cast(version_event_id as {{ dbt.type_string() }}) as customer_version_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        valid_from,
        valid_to,
        is_current,
        cast(coalesce(segment, 'unknown') as {{ dbt.type_string() }}) as segment,
        cast(coalesce(needs_category, 'unknown') as {{ dbt.type_string() }}) as needs_category,
        cast(region as {{ dbt.type_string() }}) as region,
        cast(timezone as {{ dbt.type_string() }}) as timezone,
        cast(mrr as double) as mrr,
        has_cancelled,
        email is not null as has_email,
        phone_number is not null as has_phone_number,
        {{ built_run() }} as _built_run

    from customer_versions

)

select *, {{ row_hash() }} as _row_hash from final
