-- One row per helpdesk ticket: the helpdesk's output metrics (first reply time, full
-- resolution time, one-touch resolution; Zendesk's definitions, calendar time) and its
-- outcome signals (reopens, hand-offs between groups, chasers), with the customer and the
-- issue of its creation contact. Incremental: a build rewrites the tickets it rebuilt and
-- those whose creation contact it resolved or stitched again.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='ticket_id',
    meta={'rebuild_scope': "{{ in_rebuild_scope('ticket', 'ticket_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}
-- depends_on: {{ ref('int_rebuild_customers') }}

{% set tickets_in_scope %}
    {{ in_rebuild_scope('ticket', 'ticket_id') }}
    or ticket_id in (
        select ticket_id from {{ ref('int_contacts_resolved_to_customers') }}
        where contact_type = 'ticket'
            and ({{ is_built_now() }} or {{ in_rebuilt_customers('resolved_customer_id') }})
    )
{% endset %}

with

ticket_events as (

    select * from {{ ref('stg_tickets__events') }}
    {% if is_incremental() %}
    where {{ tickets_in_scope }}
    {% endif %}

),

ticket_episodes as (

    select * from {{ ref('int_ticket_episodes_split') }}
    {% if is_incremental() %}
    where {{ tickets_in_scope }}
    {% endif %}

),

contacts as (

    -- each ticket's creation contact with its customer and issue, as fct_contacts (built
    -- before in the same build) has them: one join, not two (docs/benchmarks.md, ninth
    -- session)
    select * from {{ ref('fct_contacts') }}
    where contact_type = 'ticket'
    {% if is_incremental() %}
        and ticket_id in (select ticket_id from ticket_episodes)
    {% endif %}

),

events_summarised as (

    select
        ticket_id,
        max(case when event_type = 'created' then occurred_at end) as created_at,
        min(
            case
                when event_type = 'commented' and author_role = 'agent' and is_public then occurred_at
            end
        ) as first_reply_at,
        sum(
            case
                when event_type = 'commented' and author_role = 'agent' and is_public then 1
                else 0
            end
        ) as public_agent_replies,
        sum(case when event_type = 'status_changed' and status = 'solved' then 1 else 0 end) as solves,
        max(case when event_type = 'status_changed' and status = 'solved' then occurred_at end) as last_solved_at,
        max(case when event_type = 'merged' then merged_into_ticket_id end) as merged_into_ticket_id,
        max(priority) as priority

    from ticket_events
    group by ticket_id

),

episodes_summarised as (

    select
        ticket_id,
        count(*) as contacts,
        sum(case when contact_type = 'reopen' then 1 else 0 end) as reopens,
        sum(group_changes) as group_changes,
        sum(chasers) as chasers,
        max(channel) as channel,
        max(contact_reason) as contact_reason,
        max(first_group) as first_group,
        max(case when contact_type = 'ticket' then contact_id end) as creation_contact_id,
        max(case when episode_seq = max_episode_seq then final_status end) as final_status

    from (
        select *, max(episode_seq) over (partition by ticket_id) as max_episode_seq
        from ticket_episodes
    ) as episodes_ranked
    group by ticket_id

),

final as (

    select
        cast(episodes_summarised.ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(episodes_summarised.channel as {{ dbt.type_string() }}) as channel,
        cast(contacts.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(contacts.issue_id as {{ dbt.type_string() }}) as issue_id,
        cast(coalesce(episodes_summarised.contact_reason, 'unknown') as {{ dbt.type_string() }}) as contact_reason,
        cast(coalesce(episodes_summarised.first_group, 'unassigned') as {{ dbt.type_string() }}) as first_group,
        cast(events_summarised.priority as {{ dbt.type_string() }}) as priority,
        cast(episodes_summarised.final_status as {{ dbt.type_string() }}) as final_status,
        events_summarised.created_at,
        {{ local_date('events_summarised.created_at') }} as created_date,
        events_summarised.first_reply_at,
        cast({{ seconds_between('events_summarised.created_at', 'events_summarised.first_reply_at') }} as double)
            as first_reply_seconds,
        events_summarised.last_solved_at,
        cast({{ seconds_between('events_summarised.created_at', 'events_summarised.last_solved_at') }} as double)
            as full_resolution_seconds,
        cast(events_summarised.public_agent_replies as {{ dbt.type_bigint() }}) as public_agent_replies,
        cast(events_summarised.solves as {{ dbt.type_bigint() }}) as solves,
        cast(episodes_summarised.contacts as {{ dbt.type_bigint() }}) as contacts,
        cast(episodes_summarised.reopens as {{ dbt.type_bigint() }}) as reopens,
        cast(episodes_summarised.group_changes as {{ dbt.type_bigint() }}) as group_changes,
        cast(episodes_summarised.chasers as {{ dbt.type_bigint() }}) as chasers,
        events_summarised.solves > 0 as is_ever_solved,
        episodes_summarised.reopens > 0 as is_reopened,
        events_summarised.solves > 0 and events_summarised.public_agent_replies = 1 as is_one_touch_resolution,
        cast(events_summarised.merged_into_ticket_id as {{ dbt.type_string() }}) as merged_into_ticket_id,
        {{ built_run() }} as _built_run

    from episodes_summarised
    inner join events_summarised
        on episodes_summarised.ticket_id = events_summarised.ticket_id
    left join contacts
        on episodes_summarised.creation_contact_id = contacts.contact_id
    -- a ticket whose creation never arrived is no ticket here (its reopens are contacts)
    where events_summarised.created_at is not null

)

select *, {{ row_hash() }} as _row_hash from final
