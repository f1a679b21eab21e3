-- Outputs beside outcomes per day × channel × queue (metrics.md, "the views people ask for").
-- Outputs are counted on the day the leg or contact arrived, in the queue it was offered to;
-- outcomes on the day the issue started, in the channel and queue of its first contact.

with

legs as (

    select * from {{ ref('stg_calls__legs') }}
    where is_customer_initiated

),

contacts as (

    select * from {{ ref('int_contacts_resolved_to_customers') }}

),

issues as (

    select * from {{ ref('int_issues_assessed') }}

),

call_outputs as (

    select
        cast(arrived_at as date) as outcome_date,
        'phone' as channel,
        queue,
        sum(case when is_offered then 1 else 0 end) as offered,
        sum(case when is_handled then 1 else 0 end) as handled,
        sum(case when is_abandoned then 1 else 0 end) as abandoned,
        sum(case when is_short_abandon then 1 else 0 end) as short_abandons,
        sum(case when is_ivr_hangup then 1 else 0 end) as ivr_hangups,
        sum(case when is_answered_within_service_level then 1 else 0 end) as answered_within_service_level,
        sum(case when is_transferred then 1 else 0 end) as transferred,
        sum(case when is_handled then handle_seconds else 0 end) as handle_seconds,
        sum(case when is_handled then queue_seconds else 0 end) as answer_wait_seconds

    from legs
    group by 1, 2, 3

),

contact_volumes as (

    select
        cast(started_at as date) as outcome_date,
        channel,
        queue,
        count(*) as contacts,
        sum(case when resolved_customer_id is not null then 1 else 0 end) as identified_contacts

    from contacts
    group by 1, 2, 3

),

issue_outcomes as (

    select
        issue_started_date as outcome_date,
        first_channel as channel,
        first_queue as queue,
        count(*) as issues_started,
        sum(case when is_mature then 1 else 0 end) as issues_mature,
        sum(case when is_mature then 0 else 1 end) as issues_pending,
        sum(case when is_durably_resolved then 1 else 0 end) as issues_durably_resolved,
        sum(case when is_first_contact_resolution then 1 else 0 end) as issues_first_contact_resolved,
        sum(contacts) as issue_contacts,
        sum(contacts - 1) as repeat_contacts

    from issues
    group by 1, 2, 3

),

grain as (

    select outcome_date, channel, queue from call_outputs
    union
    select outcome_date, channel, queue from contact_volumes
    union
    select outcome_date, channel, queue from issue_outcomes

),

joined as (

    select
        grain.outcome_date,
        grain.channel,
        grain.queue,
        coalesce(contact_volumes.contacts, 0) as contacts,
        coalesce(contact_volumes.identified_contacts, 0) as identified_contacts,
        coalesce(call_outputs.offered, 0) as offered,
        coalesce(call_outputs.handled, 0) as handled,
        coalesce(call_outputs.abandoned, 0) as abandoned,
        coalesce(call_outputs.short_abandons, 0) as short_abandons,
        coalesce(call_outputs.ivr_hangups, 0) as ivr_hangups,
        coalesce(call_outputs.answered_within_service_level, 0) as answered_within_service_level,
        coalesce(call_outputs.transferred, 0) as transferred,
        coalesce(call_outputs.handle_seconds, 0) as handle_seconds,
        coalesce(call_outputs.answer_wait_seconds, 0) as answer_wait_seconds,
        coalesce(issue_outcomes.issues_started, 0) as issues_started,
        coalesce(issue_outcomes.issues_mature, 0) as issues_mature,
        coalesce(issue_outcomes.issues_pending, 0) as issues_pending,
        coalesce(issue_outcomes.issues_durably_resolved, 0) as issues_durably_resolved,
        coalesce(issue_outcomes.issues_first_contact_resolved, 0) as issues_first_contact_resolved,
        coalesce(issue_outcomes.issue_contacts, 0) as issue_contacts,
        coalesce(issue_outcomes.repeat_contacts, 0) as repeat_contacts

    from grain
    left join call_outputs
        on grain.outcome_date = call_outputs.outcome_date
        and grain.channel = call_outputs.channel
        and grain.queue = call_outputs.queue
    left join contact_volumes
        on grain.outcome_date = contact_volumes.outcome_date
        and grain.channel = contact_volumes.channel
        and grain.queue = contact_volumes.queue
    left join issue_outcomes
        on grain.outcome_date = issue_outcomes.outcome_date
        and grain.channel = issue_outcomes.channel
        and grain.queue = issue_outcomes.queue

),

final as (

    select
        *,
        -- outputs (vendor definitions, metrics.md)
        cast(handle_seconds as double) / nullif(handled, 0) as aht_seconds,
        cast(answer_wait_seconds as double) / nullif(handled, 0) as asa_seconds,
        cast(answered_within_service_level as double) / nullif(offered - short_abandons, 0) as service_level,
        cast(abandoned as double) / nullif(offered - short_abandons, 0) as abandonment_rate,
        cast(transferred as double) / nullif(handled, 0) as transfer_rate,
        -- outcomes (identified customers; immature issues held out of FCR)
        cast(identified_contacts as double) / nullif(contacts, 0) as identification_rate,
        cast(issues_first_contact_resolved as double) / nullif(issues_mature, 0) as fcr_rate,
        cast(repeat_contacts as double) / nullif(issue_contacts, 0) as repeat_contact_rate

    from joined

)

select * from final
