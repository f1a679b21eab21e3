-- One row per customer contact (a call with all its legs, a new ticket, a reopen), identified
-- or not: the customer it resolved to, the issue it belongs to, whether it was a repeat (and
-- within which look-back window), and whom it is attributed and charged to.
--
-- Issue stitching (metrics.md): the contacts of one identified customer about the same
-- contact reason, each within repeat_window of the previous one, plus every contact linked
-- to the same ticket. See DECISIONLOG.md for the rules on contacts without a reason. An
-- unidentified contact is in no issue (counted in outputs, left out of outcomes).
-- Repeats and attribution (metrics.md, "repeat contact rate" and "attribution"):
-- * a repeat is a contact that is not the first of its issue; the windowed variants look back
--   24 h / 7 d / 30 d from the contact's start to the end of the customer's previous contact
--   about the same problem (same stitch key), or about anything (any reason);
-- * a repeat is charged to whoever handled the contact before it in the issue (its agent,
--   the queue it was handled in, the agent's team), and that earlier contact is marked as
--   followed by a repeat: the agent's repeat rate of the AHT trap.
-- Performance: repeats and attribution take what they need from the window passes that
-- stitching sorts anyway (by customer, then by customer and stitch key), and all three are
-- computed here, in the fact itself: each 10 M-row table of contacts written costs ≈ 15 s
-- (stitching and attribution were an intermediate table each; docs/benchmarks.md, ninth
-- session).
--
-- Incremental: a build stitches and attributes again every contact of the customers in
-- int_rebuild_customers (the customer is the unit of rebuild; it includes the customers of
-- contacts resolved again or away, of changed tickets, and of agents whose team changed),
-- and rewrites the unidentified contacts it resolved again or whose handler's team changed.

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

{% set window_seconds = var('repeat_window_days') * 86400 %}
{% set retry_seconds = var('retry_window_hours') * 3600 %}
{#- the window passes' two orders, a customer's contacts and a customer's contacts about one
    problem (stitch key); each window function adds its frame -#}
{% set by_customer %}partition by resolved_customer_id order by started_at, contact_id{% endset %}
{% set by_stitch_key %}partition by resolved_customer_id, stitch_key order by started_at, contact_id{% endset %}
{% set contact_columns = [
    'contact_id', 'contact_type', 'channel', 'call_id', 'ticket_id', 'resolved_customer_id', 'identified_by',
    'contact_reason', 'queue', 'started_at', 'ended_at', 'legs', 'handoffs', 'chasers', 'handle_seconds',
    'is_handled', 'is_resolved', 'resolved_at', 'first_agent_id', 'handled_by_agent_id', 'handled_in_queue',
] %}
{% set issue_columns = [
    'issue_id', 'contact_seq', 'issue_reason', 'is_reason_inferred', 'is_repeat', 'is_followed_by_repeat',
    'is_same_reason_repeat_24h', 'is_any_reason_repeat_24h', 'is_same_reason_repeat_7d',
    'is_any_reason_repeat_7d', 'is_same_reason_repeat_30d', 'is_any_reason_repeat_30d',
    'previous_contact_id', 'charged_agent_id', 'charged_queue', 'charged_team',
] %}

with

contacts as (

    -- an identified contact is stitched with all of its customer's contacts
    select * from {{ ref('int_contacts_resolved_to_customers') }}
    where resolved_customer_id is not null
    {% if is_incremental() %}
        and {{ in_rebuilt_customers('resolved_customer_id') }}
    {% endif %}

),

unidentified_contacts as (

    select * from {{ ref('int_contacts_resolved_to_customers') }}
    where resolved_customer_id is null
    {% if is_incremental() %}
        and (
            {{ is_built_now() }}
            or {{ in_changed_agents('handled_by_agent_id') }}
            or (contact_type = 'call' and {{ in_rebuild_scope('call', 'call_id') }})
            or (contact_type <> 'call' and {{ in_rebuild_scope('ticket', 'ticket_id') }})
        )
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
            {{ by_customer }} rows between 1 following and unbounded following
        ) as next_reason,
        {{ first_non_null('case when own_reason is not null then started_at end') }} over (
            {{ by_customer }} rows between 1 following and unbounded following
        ) as next_reason_started_at,
        {{ last_non_null('own_reason') }} over (
            {{ by_customer }} rows between unbounded preceding and 1 preceding
        ) as previous_reason,
        {{ last_non_null('case when own_reason is not null then ended_at end') }} over (
            {{ by_customer }} rows between unbounded preceding and 1 preceding
        ) as previous_reason_ended_at,
        max(ended_at) over (
            {{ by_customer }} rows between unbounded preceding and 1 preceding
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
            {{ by_stitch_key }} rows between unbounded preceding and 1 preceding
        ) as previous_activity_at,
        row_number() over ({{ by_stitch_key }}) as stitch_seq,
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
        same_reason_gap_seconds,
        any_reason_gap_seconds,
        {{ last_non_null('case when starts_issue = 1 then contact_id end') }} over (
            {{ by_stitch_key }} rows between unbounded preceding and current row
        ) as issue_id,
        stitch_seq + 1 - max(case when starts_issue = 1 then stitch_seq end) over (
            {{ by_stitch_key }} rows between unbounded preceding and current row
        ) as contact_seq,
        case when starts_issue = 0 then lag(contact_id) over ({{ by_stitch_key }}) end as previous_contact_id,
        case when starts_issue = 0 then lag(handled_by_agent_id) over ({{ by_stitch_key }}) end as charged_agent_id,
        case when starts_issue = 0 then lag(handled_in_queue) over ({{ by_stitch_key }}) end as charged_queue,
        coalesce(lead(starts_issue) over ({{ by_stitch_key }}) = 0, false) as is_followed_by_repeat

    from issue_starts_flagged

),

contacts_with_issues as (

    select
        {% for column in contact_columns %}contacts.{{ column }},
        {% endfor %}
        handler_agents.team as handled_by_team,
        issues_numbered.issue_id,
        issues_numbered.contact_seq,
        issues_numbered.own_reason as issue_reason,
        issues_numbered.is_reason_inferred,
        issues_numbered.contact_seq > 1 as is_repeat,
        issues_numbered.is_followed_by_repeat,
        {% for label, seconds in [('24h', 86400), ('7d', 7 * 86400), ('30d', 30 * 86400)] %}
        coalesce(issues_numbered.same_reason_gap_seconds <= {{ seconds }}, false) as is_same_reason_repeat_{{ label }},
        coalesce(issues_numbered.any_reason_gap_seconds <= {{ seconds }}, false) as is_any_reason_repeat_{{ label }},
        {% endfor %}
        issues_numbered.previous_contact_id,
        issues_numbered.charged_agent_id,
        issues_numbered.charged_queue,
        charged_agents.team as charged_team

    from issues_numbered
    inner join contacts
        on issues_numbered.contact_id = contacts.contact_id
    left join agents as handler_agents
        on contacts.handled_by_agent_id = handler_agents.agent_id
    left join agents as charged_agents
        on issues_numbered.charged_agent_id = charged_agents.agent_id

    union all

    select
        {% for column in contact_columns %}unidentified_contacts.{{ column }},
        {% endfor %}
        agents.team as handled_by_team,
        {% for column in issue_columns %}null as {{ column }}{{ ',' if not loop.last }}
        {% endfor %}

    from unidentified_contacts
    left join agents
        on unidentified_contacts.handled_by_agent_id = agents.agent_id

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

    from contacts_with_issues

)

select *, {{ row_hash() }} as _row_hash from final
