-- One row per customer contact (a call with all its legs, a new ticket, a reopen), identified
-- or not: the customer it resolved to, the issue it belongs to, whether it was a repeat (and
-- within which look-back window), and whom it is attributed and charged to. Incremental: a
-- build rewrites the contacts it resolved again, those of the customers it re-stitched, and
-- those handled by an agent whose team changed.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='contact_id',
    meta={'rebuild_scope': "{{ in_rebuilt_customers('customer_id') }}
        or (contact_type = 'call' and {{ in_rebuild_scope('call', 'call_id') }})
        or (contact_type <> 'call' and {{ in_rebuild_scope('ticket', 'ticket_id') }})"},
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}
-- depends_on: {{ ref('int_rebuild_customers') }}

{% set contact_columns = [
    'contact_id', 'contact_type', 'channel', 'call_id', 'ticket_id', 'identified_by', 'contact_reason',
    'queue', 'started_at', 'ended_at', 'legs', 'handoffs', 'chasers', 'handle_seconds', 'is_handled',
    'is_resolved', 'resolved_at', 'first_agent_id', 'handled_by_agent_id', 'handled_in_queue',
] %}
{% set issue_columns = [
    'issue_id', 'contact_seq', 'issue_reason', 'is_reason_inferred', 'is_repeat', 'is_followed_by_repeat',
    'is_same_reason_repeat_24h', 'is_any_reason_repeat_24h', 'is_same_reason_repeat_7d',
    'is_any_reason_repeat_7d', 'is_same_reason_repeat_30d', 'is_any_reason_repeat_30d',
    'previous_contact_id', 'charged_agent_id', 'charged_queue', 'charged_team',
] %}

with

contacts as (

    select * from {{ ref('int_contacts_resolved_to_customers') }}
    {% if is_incremental() %}
    where {{ is_built_now() }}
        or {{ in_rebuilt_customers('resolved_customer_id') }}
        or {{ in_changed_agents('handled_by_agent_id') }}
        or (contact_type = 'call' and {{ in_rebuild_scope('call', 'call_id') }})
        or (contact_type <> 'call' and {{ in_rebuild_scope('ticket', 'ticket_id') }})
    {% endif %}

),

issue_contacts as (

    select * from {{ ref('int_contacts_stitched_into_issues') }}
    {% if is_incremental() %}
    where contact_id in (select contact_id from contacts)
    {% endif %}

),

agents as (

    select * from {{ ref('int_agents_assigned_to_teams') }}

),

contacts_joined_to_issues as (

    -- an identified contact is in int_contacts_stitched_into_issues with every column of its
    -- resolution; an unidentified one has no issue. Performance: the two are put one after
    -- the other, not joined (10 M contacts: docs/benchmarks.md, ninth session).
    select
        {{ contact_columns | join(', ') }},
        customer_id as resolved_customer_id,
        handled_by_team,
        {{ issue_columns | join(', ') }}

    from issue_contacts

    union all

    select
        {% for column in contact_columns %}contacts.{{ column }}, {% endfor %}
        contacts.resolved_customer_id,
        agents.team as handled_by_team,
        {% for column in issue_columns %}null as {{ column }}{{ ', ' if not loop.last }}{% endfor %}

    from contacts
    left join agents
        on contacts.handled_by_agent_id = agents.agent_id
    where contacts.resolved_customer_id is null

),

final as (

    select
        cast(contact_id as {{ dbt.type_string() }}) as contact_id,
        cast(contact_type as {{ dbt.type_string() }}) as contact_type,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(call_id as {{ dbt.type_string() }}) as call_id,
        cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(resolved_customer_id as {{ dbt.type_string() }}) as customer_id,
        resolved_customer_id is not null as is_identified,
        cast(identified_by as {{ dbt.type_string() }}) as identified_by,
        cast(issue_id as {{ dbt.type_string() }}) as issue_id,
        cast(contact_seq as {{ dbt.type_bigint() }}) as contact_seq,
        cast(coalesce(contact_reason, 'unknown') as {{ dbt.type_string() }}) as contact_reason,
        cast(issue_reason as {{ dbt.type_string() }}) as issue_reason,
        coalesce(is_reason_inferred, false) as is_reason_inferred,
        cast(queue as {{ dbt.type_string() }}) as queue,
        started_at,
        ended_at,
        {{ local_date('started_at') }} as started_date,
        {{ is_in_business_hours('started_at') }} as is_in_business_hours,
        cast(legs as {{ dbt.type_bigint() }}) as legs,
        cast(handoffs as {{ dbt.type_bigint() }}) as handoffs,
        cast(chasers as {{ dbt.type_bigint() }}) as chasers,
        cast(handle_seconds as double) as handle_seconds,
        is_handled,
        is_resolved,
        resolved_at,
        coalesce(is_repeat, false) as is_repeat,
        coalesce(is_followed_by_repeat, false) as is_followed_by_repeat,
        {% for window in ['24h', '7d', '30d'] %}
        coalesce(is_same_reason_repeat_{{ window }}, false) as is_same_reason_repeat_{{ window }},
        coalesce(is_any_reason_repeat_{{ window }}, false) as is_any_reason_repeat_{{ window }},
        {% endfor %}
        cast(first_agent_id as {{ dbt.type_string() }}) as first_agent_id,
        cast(handled_by_agent_id as {{ dbt.type_string() }}) as handled_by_agent_id,
        cast(coalesce(handled_in_queue, queue) as {{ dbt.type_string() }}) as handled_in_queue,
        cast(handled_by_team as {{ dbt.type_string() }}) as handled_by_team,
        cast(previous_contact_id as {{ dbt.type_string() }}) as previous_contact_id,
        cast(charged_agent_id as {{ dbt.type_string() }}) as charged_agent_id,
        cast(charged_queue as {{ dbt.type_string() }}) as charged_queue,
        cast(charged_team as {{ dbt.type_string() }}) as charged_team,
        {{ built_run() }} as _built_run

    from contacts_joined_to_issues

)

select *, {{ row_hash() }} as _row_hash from final
