-- One row per customer per period in which their CRM attributes held (type-2 history).
-- Each CRM event carries only the attributes it changes; a null means "unchanged".
-- Incremental: a build rebuilds the history of the customers with a changed CRM event.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='version_event_id',
    meta={'rebuild_scope': "{{ in_rebuild_scope('crm_customer', 'customer_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}

with

crm_events as (

    select * from {{ ref('stg_crm__events') }}
    {% if is_incremental() %}
    where {{ in_rebuild_scope('crm_customer', 'customer_id') }}
    {% endif %}

),

attributes_carried_forward as (

    select
        customer_id,
        event_id,
        event_type,
        occurred_at,
        {% for column in ['email', 'phone_number', 'segment', 'needs_category', 'region', 'timezone', 'mrr'] %}
        {{ last_non_null(column) }} over (
            partition by customer_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as {{ column }},
        {% endfor %}
        max(case when event_type = 'subscription_cancelled' then 1 else 0 end) over (
            partition by customer_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) = 1 as has_cancelled,
        row_number() over (
            partition by customer_id order by occurred_at desc, event_id desc
        ) = 1 as is_current

    from crm_events

),

final as (

    select
        customer_id,
        event_id as version_event_id,
        occurred_at as valid_from,
        lead(occurred_at) over (
            partition by customer_id order by occurred_at, event_id
        ) as valid_to,
        email,
        phone_number,
        segment,
        needs_category,
        region,
        timezone,
        mrr,
        has_cancelled,
        is_current,
        {{ built_run() }} as _built_run

    from attributes_carried_forward

)

select *, {{ row_hash() }} as _row_hash from final
