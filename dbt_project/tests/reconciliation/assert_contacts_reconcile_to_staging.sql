-- Every customer contact in staging becomes exactly one row of fct_contacts: one per call
-- (customer-initiated legs grouped by call_id), one per ticket creation, one per reopen.

{% set reopen_statuses = "('new', 'open', 'pending')" %}

with

legs as (

    select * from {{ ref('stg_calls__legs') }}

),

ticket_events as (

    select * from {{ ref('stg_tickets__events') }}

),

contacts as (

    select * from {{ ref('fct_contacts') }}

),

expected as (

    select 'call' as contact_type, count(distinct call_id) as contacts
    from legs
    where is_customer_initiated

    union all

    select 'ticket' as contact_type, count(distinct ticket_id) as contacts
    from ticket_events
    where event_type = 'created'

),

actual as (

    select contact_type, count(*) as contacts
    from contacts
    where contact_type in ('call', 'ticket')
    group by contact_type

),

final as (

    select expected.contact_type, expected.contacts as in_staging, actual.contacts as in_fct_contacts
    from expected
    left join actual
        on expected.contact_type = actual.contact_type
    where expected.contacts <> coalesce(actual.contacts, 0)

)

select * from final
