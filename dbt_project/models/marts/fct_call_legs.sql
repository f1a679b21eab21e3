-- One row per call leg, inbound, callback and outbound: the output facts (metrics.md,
-- "Output metrics") with the contact, issue and customer each customer-initiated leg
-- belongs to. Days are the centre's local days (var('centre_timezone')). Incremental: a build
-- rewrites the legs of the calls it rebuilt, of the calls whose contact it resolved or
-- stitched again, and of the calls an agent whose team changed worked on.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='leg_id',
    meta={'rebuild_scope': "{{ in_rebuild_scope('call', 'call_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}
-- depends_on: {{ ref('int_rebuild_customers') }}
-- depends_on: {{ ref('int_contacts_resolved_to_customers') }}

with

legs as (

    select * from {{ ref('stg_calls__legs') }}
    {% if is_incremental() %}
    where {{ in_rebuild_scope('call', 'call_id') }}
        or call_id in (
            select call_id from {{ ref('int_contacts_resolved_to_customers') }}
            where contact_type = 'call'
                and ({{ is_built_now() }} or {{ in_rebuilt_customers('resolved_customer_id') }})
        )
        or call_id in (
            select call_id from {{ ref('stg_calls__legs') }}
            where {{ in_changed_agents('agent_id') }}
        )
    {% endif %}

),

contacts as (

    -- each call's contact with its issue, as fct_contacts (built before in the same build)
    -- has them. Performance: one join, not one to the resolved contacts and another to the
    -- issues' members (10 M contacts: docs/benchmarks.md, ninth session)
    select * from {{ ref('fct_contacts') }}
    where contact_type = 'call'
    {% if is_incremental() %}
        and call_id in (select call_id from legs)
    {% endif %}

),

agents as (

    select * from {{ ref('int_agents_assigned_to_teams') }}

),

legs_joined_to_contacts as (

    select
        legs.*,
        contacts.contact_id,
        -- customer_id is the call record's own (legs.*): a second `customer_id` here
        -- (contacts.resolved_customer_id, which the contract's description names) was shadowed
        -- on DuckDB and ambiguous on Spark
        contacts.contact_reason as call_reason,
        contacts.issue_id,
        agents.team

    from legs
    left join contacts
        on legs.is_customer_initiated
        and legs.call_id = contacts.call_id
    left join agents
        on legs.agent_id = agents.agent_id

),

final as (

    select
        cast(leg_id as {{ dbt.type_string() }}) as leg_id,
        cast(call_id as {{ dbt.type_string() }}) as call_id,
        cast(leg_seq as {{ dbt.type_bigint() }}) as leg_seq,
        cast(direction as {{ dbt.type_string() }}) as direction,
        is_customer_initiated,
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(issue_id as {{ dbt.type_string() }}) as issue_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(coalesce(queue, 'unknown') as {{ dbt.type_string() }}) as queue,
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(team as {{ dbt.type_string() }}) as team,
        cast(contact_reason as {{ dbt.type_string() }}) as leg_reason,
        cast(coalesce(call_reason, 'unknown') as {{ dbt.type_string() }}) as contact_reason,
        cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
        arrived_at,
        queued_at,
        answered_at,
        ended_at,
        {{ local_date('arrived_at') }} as arrived_date,
        {{ is_in_business_hours('arrived_at') }} as is_in_business_hours,
        cast(queue_seconds as double) as queue_seconds,
        cast(talk_seconds as double) as talk_seconds,
        cast(hold_seconds as double) as hold_seconds,
        cast(acw_seconds as double) as acw_seconds,
        cast(coalesce(handle_seconds, 0) as double) as handle_seconds,
        cast(coalesce(handle_seconds, 0) as double) / 3600 * {{ var('cost_per_agent_hour') }} as handling_cost,
        cast(disposition as {{ dbt.type_string() }}) as disposition,
        cast(transferred_to_queue as {{ dbt.type_string() }}) as transferred_to_queue,
        cast(agent_resolution as {{ dbt.type_string() }}) as agent_resolution,
        is_answered,
        is_offered,
        is_handled,
        is_abandoned,
        is_short_abandon,
        is_ivr_hangup,
        is_answered_within_service_level,
        is_transferred,
        {{ built_run() }} as _built_run

    from legs_joined_to_contacts

)

select *, {{ row_hash() }} as _row_hash from final
