-- What an incremental build must rebuild before it touches contacts (docs/metrics.md,
-- "Incremental builds"), from the event days the ingest runs since the last build changed
-- and from the previous build's state (read here, before this build rewrites it):
--   day:<feed>      a UTC event day whose raw rows changed (old and new day of a correction)
--   call            a call with a leg on a changed day (or that had it before): its contact
--                   is rebuilt
--   ticket          a ticket with an event on a changed day: its episodes are rebuilt
--   crm_customer    a customer with a CRM event on a changed day (or who owned it before)
--   phone_number,   an identity value such a customer holds or held: every contact carrying
--   email           it is resolved to a customer again
--   customer_before the customer a contact in scope resolved to before this build
-- A full refresh, or a build that rebuilds everything, needs no scope: the table is empty.

-- depends_on: {{ ref('stg_changes__changed_days') }}
-- depends_on: {{ ref('stg_calls__legs') }}
-- depends_on: {{ ref('stg_tickets__events') }}
-- depends_on: {{ ref('stg_crm__events') }}

{% set build = current_build() %}
{% set active = execute and not flags.FULL_REFRESH and not build['everything'] %}
{% set versions_before = previous_relation('int_customer_versions_built') if active else none %}
{% set contacts_before = previous_relation('int_contacts_resolved_to_customers') if active else none %}
{% set legs_before = previous_relation('fct_call_legs') if active else none %}

{% if not active %}

select
    cast(null as {{ dbt.type_string() }}) as key_type,
    cast(null as {{ dbt.type_string() }}) as key_value
where false

{% else %}

with

changed_days as (

    select feed, event_date
    from {{ ref('stg_changes__changed_days') }}
    where run_id > {{ build['since_run'] }}
        and run_id <= {{ build['upto_run'] }}

),

legs as (

    select leg_id, call_id, arrived_at from {{ ref('stg_calls__legs') }}

),

ticket_events as (

    select ticket_id, occurred_at from {{ ref('stg_tickets__events') }}

),

crm_events as (

    select * from {{ ref('stg_crm__events') }}

),

changed_legs as (

    select leg_id, call_id
    from legs
    where cast(arrived_at as date) in (select event_date from changed_days where feed = 'calls')

),

changed_calls as (

    select call_id from changed_legs
    {% if legs_before is not none %}
    union
    -- a corrected leg that moved to another call changes its old call too
    select call_id from {{ legs_before }}
    where leg_id in (select leg_id from changed_legs)
    {% endif %}

),

changed_tickets as (

    select distinct ticket_id
    from ticket_events
    where cast(occurred_at as date) in (select event_date from changed_days where feed = 'tickets')

),

changed_crm_events as (

    select event_id, customer_id
    from crm_events
    where cast(occurred_at as date) in (select event_date from changed_days where feed = 'crm')

),

changed_customers as (

    select customer_id from changed_crm_events
    {% if versions_before is not none %}
    union
    -- a corrected event that moved to another customer changes its old owner's history too
    select customer_id from {{ versions_before }}
    where version_event_id in (select event_id from changed_crm_events)
    {% endif %}

),

identities_touched as (

    select 'phone_number' as key_type, phone_number as key_value
    from crm_events
    where phone_number is not null and customer_id in (select customer_id from changed_customers)

    union

    select 'email' as key_type, email as key_value
    from crm_events
    where email is not null and customer_id in (select customer_id from changed_customers)

    {% if versions_before is not none %}
    union

    -- values a correction took away are gone from raw, but not from the previous build
    select 'phone_number' as key_type, phone_number as key_value
    from {{ versions_before }}
    where phone_number is not null and customer_id in (select customer_id from changed_customers)

    union

    select 'email' as key_type, email as key_value
    from {{ versions_before }}
    where email is not null and customer_id in (select customer_id from changed_customers)
    {% endif %}

),

customers_before as (

    {% if contacts_before is not none %}
    select distinct resolved_customer_id as customer_id
    from {{ contacts_before }}
    where resolved_customer_id is not null
        and (
            (contact_type = 'call' and call_id in (select call_id from changed_calls))
            -- ticket contacts, and calls about a changed ticket (its reason decides theirs)
            or ticket_id in (select ticket_id from changed_tickets)
            or phone_number in (select key_value from identities_touched where key_type = 'phone_number')
            or requester_email in (select key_value from identities_touched where key_type = 'email')
        )
    {% else %}
    select cast(null as {{ dbt.type_string() }}) as customer_id where false
    {% endif %}

),

final as (

    select distinct 'day:' || feed as key_type, cast(event_date as {{ dbt.type_string() }}) as key_value
    from changed_days
    union all
    select 'call' as key_type, call_id as key_value from changed_calls
    union all
    select 'ticket' as key_type, ticket_id as key_value from changed_tickets
    union all
    select 'crm_customer' as key_type, customer_id as key_value from changed_customers
    union all
    select key_type, key_value from identities_touched
    union all
    select 'customer_before' as key_type, customer_id as key_value from customers_before

)

select * from final

{% endif %}
