-- Outputs beside outcomes per day × channel × queue × contact reason (metrics.md, "the views
-- people ask for"). Days are the centre's local days. Outputs are counted on the day the leg,
-- contact or ticket arrived, in the queue it was offered to, under the call's (or ticket's)
-- reason; outcomes on the day the issue started, in the channel and queue of its first
-- contact, under the issue's reason. Every count is additive across rows; the rates are per
-- row (recompute them from the counts when rolling up). Incremental: a build recomputes the
-- local days whose facts it changed (in_rebuilt_periods).

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='outcome_date',
    meta={
        'rebuild_scope': "{{ in_rebuilt_periods('outcome_date') }}",
        'grain': ['outcome_date', 'channel', 'queue', 'contact_reason'],
    },
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}

with

legs as (

    select * from {{ ref('fct_call_legs') }}
    where is_customer_initiated
    {% if is_incremental() %}
        and {{ in_rebuilt_periods('arrived_date') }}
    {% endif %}

),

contacts as (

    select * from {{ ref('fct_contacts') }}
    {% if is_incremental() %}
    where {{ in_rebuilt_periods('started_date') }}
    {% endif %}

),

tickets as (

    select * from {{ ref('fct_tickets') }}
    {% if is_incremental() %}
    where {{ in_rebuilt_periods('created_date') }}
    {% endif %}

),

issues as (

    select * from {{ ref('fct_issues') }}
    {% if is_incremental() %}
    where {{ in_rebuilt_periods('issue_started_date') }}
    {% endif %}

),

call_outputs as (

    select
        arrived_date as outcome_date,
        'phone' as channel,
        queue,
        contact_reason,
        sum(case when is_offered then 1 else 0 end) as offered,
        sum(case when is_handled then 1 else 0 end) as handled,
        sum(case when is_abandoned then 1 else 0 end) as abandoned,
        sum(case when is_short_abandon then 1 else 0 end) as short_abandons,
        sum(case when is_ivr_hangup then 1 else 0 end) as ivr_hangups,
        sum(case when is_answered_within_service_level then 1 else 0 end) as answered_within_service_level,
        sum(case when is_transferred then 1 else 0 end) as transferred,
        {{ exact_sum('case when is_handled then handle_seconds else 0 end') }} as handle_seconds,
        {{ exact_sum('case when is_handled then queue_seconds else 0 end') }} as answer_wait_seconds

    from legs
    group by 1, 2, 3, 4

),

ticket_outputs as (

    select
        created_date as outcome_date,
        channel,
        first_group as queue,
        contact_reason,
        count(*) as tickets_created,
        sum(case when first_reply_at is not null then 1 else 0 end) as tickets_replied,
        {{ exact_sum('coalesce(first_reply_seconds, 0)') }} as first_reply_seconds,
        sum(case when is_ever_solved then 1 else 0 end) as tickets_solved,
        {{ exact_sum('coalesce(full_resolution_seconds, 0)') }} as full_resolution_seconds,
        sum(case when is_one_touch_resolution then 1 else 0 end) as tickets_one_touch,
        sum(case when is_reopened then 1 else 0 end) as tickets_reopened

    from tickets
    group by 1, 2, 3, 4

),

contact_volumes as (

    select
        started_date as outcome_date,
        channel,
        queue,
        contact_reason,
        count(*) as contacts,
        sum(case when is_identified then 1 else 0 end) as identified_contacts,
        sum(case when is_in_business_hours then 0 else 1 end) as contacts_out_of_hours,
        sum(case when is_repeat then 1 else 0 end) as failure_demand_repeats,
        sum(case when is_identified then chasers else 0 end) as chaser_messages,
        {% for window in ['24h', '7d', '30d'] %}
        sum(case when is_same_reason_repeat_{{ window }} then 1 else 0 end) as same_reason_repeats_{{ window }},
        sum(case when is_any_reason_repeat_{{ window }} then 1 else 0 end) as any_reason_repeats_{{ window }}{{ ',' if not loop.last }}
        {% endfor %}

    from contacts
    group by 1, 2, 3, 4

),

issue_outcomes as (

    select
        issue_started_date as outcome_date,
        first_channel as channel,
        first_queue as queue,
        contact_reason,
        count(*) as issues_started,
        sum(case when is_mature then 1 else 0 end) as issues_mature,
        sum(case when is_mature then 0 else 1 end) as issues_pending,
        sum(case when is_durably_resolved then 1 else 0 end) as issues_durably_resolved,
        sum(case when is_first_contact_resolution then 1 else 0 end) as issues_first_contact_resolved,
        sum(case when is_successful_customer_outcome then 1 else 0 end) as issues_successful_outcome,
        sum(contacts) as issue_contacts,
        sum(repeat_contacts) as repeat_contacts,
        sum(case when is_mature then contacts else 0 end) as mature_issue_contacts,
        sum(case when is_mature then handoffs else 0 end) as mature_issue_handoffs,
        {{ exact_sum('case when is_durably_resolved then time_to_resolution_seconds else 0 end') }} as resolution_seconds

    from issues
    group by 1, 2, 3, 4

),

grain as (

    select outcome_date, channel, queue, contact_reason from call_outputs
    union
    select outcome_date, channel, queue, contact_reason from ticket_outputs
    union
    select outcome_date, channel, queue, contact_reason from contact_volumes
    union
    select outcome_date, channel, queue, contact_reason from issue_outcomes

),

{% set call_counts = ['offered', 'handled', 'abandoned', 'short_abandons', 'ivr_hangups',
    'answered_within_service_level', 'transferred'] %}
{% set call_sums = ['handle_seconds', 'answer_wait_seconds'] %}
{% set ticket_counts = ['tickets_created', 'tickets_replied', 'tickets_solved', 'tickets_one_touch',
    'tickets_reopened'] %}
{% set ticket_sums = ['first_reply_seconds', 'full_resolution_seconds'] %}
{% set contact_counts = ['contacts', 'identified_contacts', 'contacts_out_of_hours',
    'failure_demand_repeats', 'chaser_messages',
    'same_reason_repeats_24h', 'any_reason_repeats_24h', 'same_reason_repeats_7d',
    'any_reason_repeats_7d', 'same_reason_repeats_30d', 'any_reason_repeats_30d'] %}
{% set issue_counts = ['issues_started', 'issues_mature', 'issues_pending', 'issues_durably_resolved',
    'issues_first_contact_resolved', 'issues_successful_outcome', 'issue_contacts',
    'repeat_contacts', 'mature_issue_contacts', 'mature_issue_handoffs'] %}
{% set issue_sums = ['resolution_seconds'] %}

joined as (

    select
        grain.outcome_date,
        grain.channel,
        grain.queue,
        grain.contact_reason,
        {% for column in contact_counts %}
        cast(coalesce(contact_volumes.{{ column }}, 0) as {{ dbt.type_bigint() }}) as {{ column }},
        {% endfor %}
        {% for column in call_counts %}
        cast(coalesce(call_outputs.{{ column }}, 0) as {{ dbt.type_bigint() }}) as {{ column }},
        {% endfor %}
        {% for column in call_sums %}
        cast(coalesce(call_outputs.{{ column }}, 0) as double) as {{ column }},
        {% endfor %}
        {% for column in ticket_counts %}
        cast(coalesce(ticket_outputs.{{ column }}, 0) as {{ dbt.type_bigint() }}) as {{ column }},
        {% endfor %}
        {% for column in ticket_sums %}
        cast(coalesce(ticket_outputs.{{ column }}, 0) as double) as {{ column }},
        {% endfor %}
        {% for column in issue_counts %}
        cast(coalesce(issue_outcomes.{{ column }}, 0) as {{ dbt.type_bigint() }}) as {{ column }},
        {% endfor %}
        {% for column in issue_sums %}
        cast(coalesce(issue_outcomes.{{ column }}, 0) as double) as {{ column }}{{ ',' if not loop.last }}
        {% endfor %}

    from grain
    {% for part in ['call_outputs', 'ticket_outputs', 'contact_volumes', 'issue_outcomes'] %}
    left join {{ part }}
        on grain.outcome_date = {{ part }}.outcome_date
        and grain.channel = {{ part }}.channel
        and grain.queue = {{ part }}.queue
        and grain.contact_reason = {{ part }}.contact_reason
    {% endfor %}

),

final as (

    select
        *,
        -- outputs (vendor definitions, metrics.md)
        handle_seconds / nullif(handled, 0) as aht_seconds,
        answer_wait_seconds / nullif(handled, 0) as asa_seconds,
        cast(answered_within_service_level as double) / nullif(offered - short_abandons, 0) as service_level,
        cast(abandoned as double) / nullif(offered - short_abandons, 0) as abandonment_rate,
        cast(transferred as double) / nullif(handled, 0) as transfer_rate,
        first_reply_seconds / nullif(tickets_replied, 0) as first_reply_time_seconds,
        full_resolution_seconds / nullif(tickets_solved, 0) as full_resolution_time_seconds,
        cast(tickets_one_touch as double) / nullif(tickets_solved, 0) as one_touch_resolution_rate,
        -- outcomes (identified customers; immature issues held out of FCR)
        cast(identified_contacts as double) / nullif(contacts, 0) as identification_rate,
        cast(issues_first_contact_resolved as double) / nullif(issues_mature, 0) as fcr_rate,
        cast(repeat_contacts as double) / nullif(issue_contacts, 0) as repeat_contact_rate,
        cast(tickets_reopened as double) / nullif(tickets_solved, 0) as reopen_rate,
        cast(mature_issue_contacts as double) / nullif(issues_durably_resolved, 0) as contacts_per_resolution,
        cast(mature_issue_handoffs as double) / nullif(issues_mature, 0) as handoffs_per_issue,
        cast(failure_demand_repeats + chaser_messages as double)
            / nullif(identified_contacts + chaser_messages, 0) as failure_demand_share,
        cast(issues_successful_outcome as double) / nullif(issues_mature, 0) as sco_rate,
        {{ built_run() }} as _built_run

    from joined

)

select * from final
