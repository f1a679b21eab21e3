-- Every customer contact (a "moment of truth", metrics.md) in one shape, with the customer it
-- belongs to. A contact is one inbound or callback call with all its legs, one new ticket, or
-- one customer reopen of a solved ticket; outbound legs are work, not contacts. Its customer
-- (metrics.md, customer resolution) is the customer_id on the record when present, else the
-- one CRM customer whose phone number (calls) or email (tickets) matched at the time of the
-- contact. A value shared by several customers at that moment identifies nobody.
-- Incremental: a build rebuilds the contacts of the calls and tickets with a record on a
-- changed day, and resolves again every stored contact carrying a phone number or email
-- that a changed customer holds or held (int_rebuild_scope).
-- Performance: the union and the resolution are one model, so the 10 M contacts are written
-- once (a table of its own for the union cost a second write of every contact;
-- docs/benchmarks.md).

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='contact_id',
    meta={'rebuild_scope': "(contact_type = 'call' and {{ in_rebuild_scope('call', 'call_id') }})
        or (contact_type <> 'call' and {{ in_rebuild_scope('ticket', 'ticket_id') }})
        or {{ in_rebuild_scope('phone_number', 'phone_number') }}
        or {{ in_rebuild_scope('email', 'requester_email') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}

{#- every window over a call's legs sees the whole call, in leg order: one sort for them all -#}
{% set whole_call %}partition by call_id order by leg_seq, arrived_at rows between unbounded preceding and unbounded following{% endset %}

with

legs as (

    select * from {{ ref('stg_calls__legs') }}
    where is_customer_initiated
    {% if is_incremental() %}
        and {{ in_rebuild_scope('call', 'call_id') }}
    {% endif %}

),

ticket_episodes as (

    select * from {{ ref('int_ticket_episodes_split') }}
    {% if is_incremental() %}
    where {{ in_rebuild_scope('ticket', 'ticket_id') }}
    {% endif %}

),

legs_ordered as (

    select
        *,
        -- the outcome of the call is its last leg's
        last_value(
            case
                when disposition = 'handled'
                    and coalesce(agent_resolution, 'resolved') not in ('unresolved', 'follow_up')
                    then 1
                else 0
            end
        ) over ({{ whole_call }}) as is_last_leg_resolved,
        {{ first_non_null('agent_id') }} over ({{ whole_call }}) as first_agent_id,
        -- the last wrap-up code is the most informed one (after any transfer)
        {{ last_non_null('contact_reason') }} over ({{ whole_call }}) as call_reason,
        {{ first_non_null('queue') }} over ({{ whole_call }}) as entry_queue,
        -- the agent (and queue) of the last answered leg owned the call's end: attribution
        {{ last_non_null('case when is_answered then agent_id end') }} over ({{ whole_call }}) as last_agent_id,
        {{ last_non_null('case when is_answered then queue end') }} over ({{ whole_call }}) as last_answered_queue

    from legs

),

calls_aggregated as (

    select
        'call:' || call_id as contact_id,
        'call' as contact_type,
        call_id,
        max(ticket_id) as ticket_id,
        'phone' as channel,
        max(customer_id) as customer_id,
        max(phone_number) as phone_number,
        cast(null as {{ dbt.type_string() }}) as requester_email,
        max(call_reason) as contact_reason,
        max(entry_queue) as queue,
        max(first_agent_id) as first_agent_id,
        max(last_agent_id) as handled_by_agent_id,
        max(last_answered_queue) as handled_in_queue,
        min(arrived_at) as started_at,
        max(ended_at) as ended_at,
        count(*) as legs,
        sum(case when leg_seq > 1 then 1 else 0 end) as handoffs,
        0 as chasers,
        {{ exact_sum('coalesce(handle_seconds, 0)') }} as handle_seconds,
        max(case when is_answered then 1 else 0 end) = 1 as is_handled,
        max(is_last_leg_resolved) = 1 as is_resolved

    from legs_ordered
    group by call_id

),

calls as (

    select
        *,
        case when is_resolved then ended_at end as resolved_at

    from calls_aggregated

),

tickets as (

    select
        contact_id,
        contact_type,
        cast(null as {{ dbt.type_string() }}) as call_id,
        ticket_id,
        channel,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as phone_number,
        requester_email,
        contact_reason,
        coalesce(first_group, 'unassigned') as queue,
        first_agent_id,
        handled_by_agent_id,
        handled_in_queue,
        started_at,
        ended_at,
        1 as legs,
        group_changes as handoffs,
        chasers,
        0 as handle_seconds,
        true as is_handled,
        is_resolved,
        resolved_at

    from ticket_episodes

),

contacts_unioned as (

    select * from calls
    union all
    select * from tickets

),

contacts as (

    select * from contacts_unioned
    {% if is_incremental() %}

    union all

    -- stored contacts outside this build's calls and tickets whose phone number or email a
    -- changed customer holds or held: the same contact, resolved again. The union's columns,
    -- in its order (not the lineage or resolution columns: this model writes its own)
    select
        contact_id,
        contact_type,
        call_id,
        ticket_id,
        channel,
        customer_id,
        phone_number,
        requester_email,
        contact_reason,
        queue,
        first_agent_id,
        handled_by_agent_id,
        handled_in_queue,
        started_at,
        ended_at,
        legs,
        handoffs,
        chasers,
        handle_seconds,
        is_handled,
        is_resolved,
        resolved_at
    from {{ this }}
    where ({{ in_rebuild_scope('phone_number', 'phone_number') }}
        or {{ in_rebuild_scope('email', 'requester_email') }})
        and not (
            (contact_type = 'call' and {{ in_rebuild_scope('call', 'call_id') }})
            or (contact_type <> 'call' and {{ in_rebuild_scope('ticket', 'ticket_id') }})
        )
    {% endif %}

),

customer_versions as (

    select * from {{ ref('int_customer_versions_built') }}

),

contact_identities as (

    select contact_id, started_at, 'phone_number' as identity_type, phone_number as identity_value
    from contacts
    where customer_id is null and phone_number is not null

    union all

    select contact_id, started_at, 'email' as identity_type, requester_email as identity_value
    from contacts
    where customer_id is null and requester_email is not null

),

customer_identities as (

    select customer_id, valid_from, valid_to, 'phone_number' as identity_type, phone_number as identity_value
    from customer_versions
    where phone_number is not null

    union all

    select customer_id, valid_from, valid_to, 'email' as identity_type, email as identity_value
    from customer_versions
    where email is not null

),

identities_matched as (

    select
        contact_identities.contact_id,
        contact_identities.identity_type,
        min(customer_identities.customer_id) as customer_id,
        count(distinct customer_identities.customer_id) as candidates

    from contact_identities
    inner join customer_identities
        on contact_identities.identity_type = customer_identities.identity_type
        and contact_identities.identity_value = customer_identities.identity_value
        and contact_identities.started_at >= customer_identities.valid_from
        and (
            customer_identities.valid_to is null
            or contact_identities.started_at < customer_identities.valid_to
        )
    group by contact_identities.contact_id, contact_identities.identity_type

),

unique_matches as (

    -- a contact carries a phone number or an email, never both: at most one row each
    select contact_id, identity_type, customer_id
    from identities_matched
    where candidates = 1

),

final as (

    select
        contacts.*,
        coalesce(contacts.customer_id, unique_matches.customer_id) as resolved_customer_id,
        case
            when contacts.customer_id is not null then 'customer_id'
            else unique_matches.identity_type
        end as identified_by,
        {{ built_run() }} as _built_run

    from contacts
    left join unique_matches
        on contacts.contact_id = unique_matches.contact_id

)

select *, {{ row_hash() }} as _row_hash from final
