-- A ticket is one contact when it is created and one more each time a customer reopens it
-- (a status change from solved back to new/open/pending, metrics.md). Each such contact
-- opens an "episode" that lasts until the next reopen; its outcome is the status the
-- episode ended in. Incremental: a build rebuilds the tickets with an event on a changed day.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='contact_id',
    meta={'rebuild_scope': "{{ in_rebuild_scope('ticket', 'ticket_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}

with

ticket_events as (

    select * from {{ ref('stg_tickets__events') }}
    {% if is_incremental() %}
    where {{ in_rebuild_scope('ticket', 'ticket_id') }}
    {% endif %}

),

status_sequenced as (

    select
        *,
        {{ last_non_null('status') }} over (
            partition by ticket_id
            order by occurred_at, event_id
            rows between unbounded preceding and 1 preceding
        ) as previous_status

    from ticket_events

),

episode_starts_flagged as (

    select
        *,
        case
            when event_type = 'created' then 1
            when event_type = 'status_changed'
                and previous_status = 'solved'
                and status in ('new', 'open', 'pending') then 1
            else 0
        end as is_episode_start

    from status_sequenced

),

events_numbered as (

    select
        *,
        sum(is_episode_start) over (
            partition by ticket_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as episode_seq,
        -- group changes after the first assignment are hand-offs (breakpoints)
        lag(case when event_type = 'assigned' then group_name end) over (
            partition by ticket_id, case when event_type = 'assigned' then 1 else 0 end
            order by occurred_at, event_id
        ) as previous_group,
        -- who owns the ticket after this event: the episode's handler is the owner at its end
        {{ last_non_null("case when event_type = 'assigned' then agent_id end") }} over (
            partition by ticket_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as owner_agent_id,
        {{ last_non_null("case when event_type = 'assigned' then group_name end") }} over (
            partition by ticket_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as owner_group

    from episode_starts_flagged

),

ticket_attributes as (

    select
        ticket_id,
        max(case when event_type = 'created' then channel end) as channel,
        max(case when event_type = 'created' then occurred_at end) as created_at,
        -- the requester can be filled in later; the most recent value is the best knowledge
        max(customer_id) as customer_id,
        max(requester_email) as requester_email,
        max(case when event_type = 'merged' then merged_into_ticket_id end) as merged_into_ticket_id

    from events_numbered
    group by ticket_id

),

ticket_reasons as (

    -- the latest reason given: agents re-categorise tickets once they understand them
    select distinct
        ticket_id,
        {{ last_non_null('contact_reason') }} over (
            partition by ticket_id
            order by occurred_at, event_id
            rows between unbounded preceding and unbounded following
        ) as contact_reason,
        {{ first_non_null('group_name') }} over (
            partition by ticket_id
            order by occurred_at, event_id
            rows between unbounded preceding and unbounded following
        ) as first_group

    from events_numbered

),

episodes as (

    select
        ticket_id,
        episode_seq,
        min(case when is_episode_start = 1 then event_id end) as start_event_id,
        max(case when is_episode_start = 1 then event_type end) as start_event_type,
        min(occurred_at) as started_at,
        max(occurred_at) as last_activity_at,
        max(case when status = 'solved' then occurred_at end) as solved_at,
        sum(
            case
                when event_type = 'assigned'
                    and previous_group is not null
                    and group_name <> previous_group then 1
                else 0
            end
        ) as group_changes,
        sum(
            case
                when event_type = 'commented' and author_role = 'customer'
                    and previous_status in ('new', 'open') then 1
                else 0
            end
        ) as chasers,
        sum(
            case
                when event_type = 'commented' and author_role = 'agent' and is_public then 1
                else 0
            end
        ) as public_agent_replies

    from events_numbered
    where episode_seq > 0
    group by ticket_id, episode_seq

),

episode_owners as (

    -- the owner at the episode's end handled it; the first owner during it answered it first
    select
        ticket_id,
        episode_seq,
        max(case when rank_from_last = 1 then owner_agent_id end) as owner_agent_id,
        max(case when rank_from_last = 1 then owner_group end) as owner_group,
        max(case when owned_rank = 1 then owner_agent_id end) as first_owner_agent_id

    from (
        select
            ticket_id,
            episode_seq,
            owner_agent_id,
            owner_group,
            row_number() over (
                partition by ticket_id, episode_seq order by occurred_at desc, event_id desc
            ) as rank_from_last,
            row_number() over (
                partition by ticket_id, episode_seq, owner_agent_id is null
                order by occurred_at, event_id
            ) + case when owner_agent_id is null then 1000000 else 0 end as owned_rank
        from events_numbered
        where episode_seq > 0
    ) as ranked
    group by ticket_id, episode_seq

),

episode_final_status as (

    select distinct
        ticket_id,
        episode_seq,
        {{ last_non_null('status') }} over (
            partition by ticket_id, episode_seq
            order by occurred_at, event_id
            rows between unbounded preceding and unbounded following
        ) as final_status

    from events_numbered
    where episode_seq > 0

),

final as (

    select
        -- a ticket whose creation never arrived (quarantined) still has its reopens
        case
            when episodes.start_event_type = 'created' then 'ticket:' || episodes.ticket_id
            else 'reopen:' || episodes.start_event_id
        end as contact_id,
        case when episodes.start_event_type = 'created' then 'ticket' else 'reopen' end as contact_type,
        episodes.ticket_id,
        episodes.episode_seq,
        coalesce(ticket_attributes.channel, 'other') as channel,
        ticket_attributes.customer_id,
        ticket_attributes.requester_email,
        ticket_reasons.contact_reason,
        ticket_reasons.first_group,
        episodes.started_at,
        episodes.last_activity_at,
        episode_final_status.final_status,
        episode_final_status.final_status in ('solved', 'closed') as is_resolved,
        case
            when episode_final_status.final_status in ('solved', 'closed')
                then coalesce(episodes.solved_at, episodes.last_activity_at)
        end as resolved_at,
        -- the contact is over when it was solved; later system closes and ratings are not
        -- customer contact. An unsolved episode lasts until its latest event so far.
        case
            when episode_final_status.final_status in ('solved', 'closed')
                then coalesce(episodes.solved_at, episodes.last_activity_at)
            else episodes.last_activity_at
        end as ended_at,
        episodes.group_changes,
        episodes.chasers,
        episodes.public_agent_replies,
        episode_owners.first_owner_agent_id as first_agent_id,
        episode_owners.owner_agent_id as handled_by_agent_id,
        episode_owners.owner_group as handled_in_queue,
        {{ built_run() }} as _built_run

    from episodes
    inner join ticket_attributes
        on episodes.ticket_id = ticket_attributes.ticket_id
    inner join ticket_reasons
        on episodes.ticket_id = ticket_reasons.ticket_id
    inner join episode_final_status
        on episodes.ticket_id = episode_final_status.ticket_id
        and episodes.episode_seq = episode_final_status.episode_seq
    inner join episode_owners
        on episodes.ticket_id = episode_owners.ticket_id
        and episodes.episode_seq = episode_owners.episode_seq

)

select * from final
