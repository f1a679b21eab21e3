-- One row per issue with its outcome: resolved, durably resolved, first-contact resolved,
-- or still pending maturity (metrics.md). Outcomes are judged as of var('as_of'), by default
-- the newest call or ticket event in the data, so the same data always gives the same answer.

{% set window_seconds = var('repeat_window_days') * 86400 %}

with

issue_contacts as (

    select * from {{ ref('int_contacts_stitched_into_issues') }}

),

legs as (

    select * from {{ ref('stg_calls__legs') }}

),

ticket_events as (

    select * from {{ ref('stg_tickets__events') }}

),

horizon as (

    select {{ as_of_timestamp(
        'select greatest((select max(ended_at) from legs), (select max(occurred_at) from ticket_events))'
    ) }} as as_of_at

),

issue_windows as (

    {% set whole_issue %}partition by issue_id order by contact_seq rows between unbounded preceding and unbounded following{% endset %}
    select
        issue_id,
        contact_seq,
        customer_id,
        channel as first_channel,
        queue as first_queue,
        first_agent_id,
        started_at as first_contact_at,
        {{ first_non_null('issue_reason') }} over ({{ whole_issue }}) as contact_reason,
        count(*) over ({{ whole_issue }}) as contacts,
        sum(handoffs) over ({{ whole_issue }}) as handoffs,
        sum(chasers) over ({{ whole_issue }}) as chasers,
        sum(case when contact_type = 'reopen' then 1 else 0 end) over ({{ whole_issue }}) as reopens,
        sum(handle_seconds) over ({{ whole_issue }}) as handle_seconds,
        max(ended_at) over ({{ whole_issue }}) as ended_at,
        last_value(is_resolved) over ({{ whole_issue }}) as is_resolved,
        last_value(resolved_at) over ({{ whole_issue }}) as last_contact_resolved_at

    from issue_contacts

),

issues as (

    select
        issue_windows.issue_id,
        issue_windows.customer_id,
        issue_windows.contact_reason,
        issue_windows.first_channel,
        issue_windows.first_queue,
        issue_windows.first_agent_id,
        issue_windows.first_contact_at,
        cast(issue_windows.first_contact_at as date) as issue_started_date,
        issue_windows.ended_at,
        issue_windows.contacts,
        issue_windows.handoffs,
        issue_windows.chasers,
        issue_windows.reopens,
        issue_windows.handle_seconds,
        issue_windows.is_resolved,
        case when issue_windows.is_resolved then issue_windows.last_contact_resolved_at end as resolved_at,
        {{ seconds_between('issue_windows.ended_at', 'horizon.as_of_at') }} >= {{ window_seconds }} as is_mature,
        horizon.as_of_at

    from issue_windows
    cross join horizon
    where issue_windows.contact_seq = 1

),

final as (

    select
        *,
        -- no later contact within the window (it would belong to the issue) and no reopen
        -- after the last contact (a reopen is itself a contact of the issue)
        is_mature and is_resolved as is_durably_resolved,
        is_mature and is_resolved and contacts = 1 as is_first_contact_resolution,
        case when is_mature then 'mature' else 'pending' end as maturity_status

    from issues

)

select * from final
