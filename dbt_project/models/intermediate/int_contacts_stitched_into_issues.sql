-- Issue stitching (metrics.md): the contacts of one identified customer about the same
-- contact reason, each within repeat_window of the previous one, plus every contact linked
-- to the same ticket. See DECISIONLOG.md for the rules on contacts without a reason.

-- Incremental: a build stitches again every contact of the customers in
-- int_rebuild_customers (the customer is the unit of rebuild).

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='contact_id',
    meta={'rebuild_scope': "{{ in_rebuilt_customers('customer_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_customers') }}

{% set window_seconds = var('repeat_window_days') * 86400 %}
{% set retry_seconds = var('retry_window_hours') * 3600 %}

with

contacts as (

    select * from {{ ref('int_contacts_resolved_to_customers') }}
    where resolved_customer_id is not null
    {% if is_incremental() %}
        and {{ in_rebuilt_customers('resolved_customer_id') }}
    {% endif %}

),

ticket_reasons as (

    select distinct ticket_id, contact_reason as ticket_reason
    from {{ ref('int_ticket_episodes_split') }}
    {% if is_incremental() %}
    where ticket_id in (select ticket_id from contacts)
    {% endif %}

),

reasons_from_tickets as (

    -- a contact about a ticket is about the ticket's reason, whatever its own wrap-up says.
    -- Performance: the window passes below carry only what they need (each sorts every
    -- contact); the contacts' other columns are joined back at the end.
    select
        contacts.contact_id,
        contacts.resolved_customer_id,
        contacts.ticket_id,
        contacts.started_at,
        contacts.ended_at,
        coalesce(ticket_reasons.ticket_reason, contacts.contact_reason) as own_reason

    from contacts
    left join ticket_reasons
        on contacts.ticket_id = ticket_reasons.ticket_id

),

neighbours_found as (

    select
        *,
        {{ first_non_null('own_reason') }} over (
            partition by resolved_customer_id
            order by started_at, contact_id
            rows between 1 following and unbounded following
        ) as next_reason,
        {{ first_non_null('case when own_reason is not null then started_at end') }} over (
            partition by resolved_customer_id
            order by started_at, contact_id
            rows between 1 following and unbounded following
        ) as next_reason_started_at,
        {{ last_non_null('own_reason') }} over (
            partition by resolved_customer_id
            order by started_at, contact_id
            rows between unbounded preceding and 1 preceding
        ) as previous_reason,
        {{ last_non_null('case when own_reason is not null then ended_at end') }} over (
            partition by resolved_customer_id
            order by started_at, contact_id
            rows between unbounded preceding and 1 preceding
        ) as previous_reason_ended_at

    from reasons_from_tickets

),

stitch_keys_chosen as (

    select
        contact_id,
        resolved_customer_id,
        ticket_id,
        started_at,
        ended_at,
        own_reason,
        case
            when own_reason is not null then own_reason
            when ticket_id is not null then 'ticket:' || ticket_id
            -- a reason-less attempt (abandoned call, IVR hang-up) belongs to the problem the
            -- customer then gets through about, else to the one they just had
            -- within retry_window_hours: further apart, it is as likely a new problem
            when next_reason is not null
                and {{ seconds_between('ended_at', 'next_reason_started_at') }} <= {{ retry_seconds }}
                then next_reason
            when previous_reason is not null
                and {{ seconds_between('previous_reason_ended_at', 'started_at') }} <= {{ retry_seconds }}
                then previous_reason
            else 'contact:' || contact_id
        end as stitch_key,
        own_reason is null and ticket_id is null as is_reason_inferred

    from neighbours_found

),

gaps_measured as (

    select
        *,
        max(ended_at) over (
            partition by resolved_customer_id, stitch_key
            order by started_at, contact_id
            rows between unbounded preceding and 1 preceding
        ) as previous_activity_at,
        row_number() over (
            partition by resolved_customer_id, stitch_key
            order by started_at, contact_id
        ) as stitch_seq,
        ticket_id is not null and count(*) over (
            partition by resolved_customer_id, stitch_key, ticket_id
            order by started_at, contact_id
            rows between unbounded preceding and 1 preceding
        ) > 0 as continues_ticket

    from stitch_keys_chosen

),

issue_starts_flagged as (

    select
        contact_id,
        resolved_customer_id,
        stitch_key,
        started_at,
        own_reason,
        is_reason_inferred,
        stitch_seq,
        case
            when previous_activity_at is null then 1
            when continues_ticket then 0
            when {{ seconds_between('previous_activity_at', 'started_at') }} > {{ window_seconds }} then 1
            else 0
        end as starts_issue

    from gaps_measured

),

issues_numbered as (

    -- an issue is the run of contacts from one that starts an issue to the next: its id is
    -- the starting contact's, and each contact's place in it counts from there
    select
        contact_id,
        own_reason,
        is_reason_inferred,
        stitch_key,
        {{ last_non_null('case when starts_issue = 1 then contact_id end') }} over (
            partition by resolved_customer_id, stitch_key
            order by started_at, contact_id
            rows between unbounded preceding and current row
        ) as issue_id,
        stitch_seq + 1 - max(case when starts_issue = 1 then stitch_seq end) over (
            partition by resolved_customer_id, stitch_key
            order by started_at, contact_id
            rows between unbounded preceding and current row
        ) as contact_seq

    from issue_starts_flagged

),

final as (

    select
        issues_numbered.issue_id,
        issues_numbered.contact_seq,
        contacts.contact_id,
        contacts.contact_type,
        contacts.call_id,
        contacts.ticket_id,
        contacts.channel,
        contacts.resolved_customer_id as customer_id,
        contacts.identified_by,
        contacts.contact_reason,
        issues_numbered.own_reason as issue_reason,
        issues_numbered.is_reason_inferred,
        issues_numbered.stitch_key,
        contacts.queue,
        contacts.first_agent_id,
        contacts.handled_by_agent_id,
        contacts.handled_in_queue,
        contacts.started_at,
        contacts.ended_at,
        contacts.legs,
        contacts.handoffs,
        contacts.chasers,
        contacts.handle_seconds,
        contacts.is_handled,
        contacts.is_resolved,
        contacts.resolved_at,
        {{ built_run() }} as _built_run

    from issues_numbered
    inner join contacts
        on issues_numbered.contact_id = contacts.contact_id

)

select *, {{ row_hash() }} as _row_hash from final
