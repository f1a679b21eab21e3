-- Issue stitching (metrics.md): the contacts of one identified customer about the same
-- contact reason, each within repeat_window of the previous one, plus every contact linked
-- to the same ticket. See DECISIONLOG.md for the rules on contacts without a reason.
-- Each contact also gets what it means for the customer's effort and whom it is charged to
-- (metrics.md, "repeat contact rate" and "attribution"):
-- * a repeat is a contact that is not the first of its issue; the windowed variants look back
--   24 h / 7 d / 30 d from the contact's start to the end of the customer's previous contact
--   about the same problem (same stitch key), or about anything (any reason);
-- * a repeat is charged to whoever handled the contact before it in the issue (its agent,
--   the queue it was handled in, the agent's team), and that earlier contact is marked as
--   followed by a repeat: the agent's repeat rate of the AHT trap.
-- Performance: attribution takes its neighbours and look-backs from the window passes that
-- stitching sorts anyway (one sort per customer, one per customer and stitch key), rather
-- than from a model of its own that sorted the 10 M stitched contacts again (10 M contacts:
-- docs/benchmarks.md, ninth session).

-- Incremental: a build stitches and attributes again every contact of the customers in
-- int_rebuild_customers (the customer is the unit of rebuild; it includes the customers of
-- the agents whose team changed).

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='contact_id',
    meta={'rebuild_scope': "{{ in_rebuilt_customers('customer_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_customers') }}

{% set window_seconds = var('repeat_window_days') * 86400 %}
{% set retry_seconds = var('retry_window_hours') * 3600 %}
{% set same_key %}(partition by resolved_customer_id, stitch_key order by started_at, contact_id){% endset %}

with

contacts as (

    select * from {{ ref('int_contacts_resolved_to_customers') }}
    where resolved_customer_id is not null
    {% if is_incremental() %}
        and {{ in_rebuilt_customers('resolved_customer_id') }}
    {% endif %}

),

agents as (

    select * from {{ ref('int_agents_assigned_to_teams') }}

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
        contacts.handled_by_agent_id,
        coalesce(contacts.handled_in_queue, contacts.queue) as handled_in_queue,
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
        ) as previous_reason_ended_at,
        max(ended_at) over (
            partition by resolved_customer_id
            order by started_at, contact_id
            rows between unbounded preceding and 1 preceding
        ) as previous_any_reason_ended_at

    from reasons_from_tickets

),

stitch_keys_chosen as (

    select
        contact_id,
        resolved_customer_id,
        ticket_id,
        started_at,
        ended_at,
        handled_by_agent_id,
        handled_in_queue,
        previous_any_reason_ended_at,
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
        handled_by_agent_id,
        handled_in_queue,
        own_reason,
        is_reason_inferred,
        stitch_seq,
        case
            when previous_activity_at is null then 1
            when continues_ticket then 0
            when {{ seconds_between('previous_activity_at', 'started_at') }} > {{ window_seconds }} then 1
            else 0
        end as starts_issue,
        {{ seconds_between('previous_activity_at', 'started_at') }} as same_reason_gap_seconds,
        {{ seconds_between('previous_any_reason_ended_at', 'started_at') }} as any_reason_gap_seconds

    from gaps_measured

),

issues_numbered as (

    -- an issue is the run of contacts from one that starts an issue to the next: its id is
    -- the starting contact's, and each contact's place in it counts from there. So the
    -- contact before one that does not start an issue is the previous contact of its issue
    -- (whose handler the repeat is charged to), and the contact after one is a repeat in the
    -- same issue unless it starts an issue of its own.
    select
        contact_id,
        own_reason,
        is_reason_inferred,
        stitch_key,
        same_reason_gap_seconds,
        any_reason_gap_seconds,
        {{ last_non_null('case when starts_issue = 1 then contact_id end') }} over (
            partition by resolved_customer_id, stitch_key
            order by started_at, contact_id
            rows between unbounded preceding and current row
        ) as issue_id,
        stitch_seq + 1 - max(case when starts_issue = 1 then stitch_seq end) over (
            partition by resolved_customer_id, stitch_key
            order by started_at, contact_id
            rows between unbounded preceding and current row
        ) as contact_seq,
        case when starts_issue = 0 then lag(contact_id) over {{ same_key }} end as previous_contact_id,
        case when starts_issue = 0 then lag(handled_by_agent_id) over {{ same_key }} end as charged_agent_id,
        case when starts_issue = 0 then lag(handled_in_queue) over {{ same_key }} end as charged_queue,
        coalesce(lead(starts_issue) over {{ same_key }} = 0, false) as is_followed_by_repeat

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
        issues_numbered.contact_seq > 1 as is_repeat,
        issues_numbered.is_followed_by_repeat,
        {% for label, seconds in [('24h', 86400), ('7d', 7 * 86400), ('30d', 30 * 86400)] %}
        coalesce(issues_numbered.same_reason_gap_seconds <= {{ seconds }}, false) as is_same_reason_repeat_{{ label }},
        coalesce(issues_numbered.any_reason_gap_seconds <= {{ seconds }}, false) as is_any_reason_repeat_{{ label }},
        {% endfor %}
        issues_numbered.previous_contact_id,
        -- attribution: the issue's outcome goes to its first contact's handler; a repeat is
        -- charged to whoever handled the contact before it
        handler_agents.team as handled_by_team,
        issues_numbered.charged_agent_id,
        issues_numbered.charged_queue,
        charged_agents.team as charged_team,
        {{ built_run() }} as _built_run

    from issues_numbered
    inner join contacts
        on issues_numbered.contact_id = contacts.contact_id
    left join agents as handler_agents
        on contacts.handled_by_agent_id = handler_agents.agent_id
    left join agents as charged_agents
        on issues_numbered.charged_agent_id = charged_agents.agent_id

)

select *, {{ row_hash() }} as _row_hash from final
