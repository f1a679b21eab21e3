-- Customer resolution (metrics.md): the customer_id on the record when present, else the
-- one CRM customer whose phone number (calls) or email (tickets) matched at the time of the
-- contact. A value shared by several customers at that moment identifies nobody.
-- Incremental: a build resolves again the contacts it rebuilt and every contact carrying a
-- phone number or email that a changed customer holds or held (int_rebuild_scope).

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

with

contacts as (

    -- every column but the lineage ones (_built_run, _row_hash: this model writes its own)
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
    from {{ ref('int_contacts_unioned') }}
    {% if is_incremental() %}
    where (contact_type = 'call' and {{ in_rebuild_scope('call', 'call_id') }})
        or (contact_type <> 'call' and {{ in_rebuild_scope('ticket', 'ticket_id') }})
        or {{ in_rebuild_scope('phone_number', 'phone_number') }}
        or {{ in_rebuild_scope('email', 'requester_email') }}
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
