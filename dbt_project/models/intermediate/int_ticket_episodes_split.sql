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

{#- Performance: every window function below orders a ticket's events the same way, so the
    engine sorts the events twice in all (once for what each event knows of its neighbours,
    once to number the episodes); everything per episode is then a plain aggregate. -#}
{% set ticket_order %}partition by ticket_id order by occurred_at, event_id{% endset %}
{#- a window that sees the whole ticket, in that order -#}
{% set whole_ticket %}{{ ticket_order }} rows between unbounded preceding and unbounded following{% endset %}

with

ticket_events as (

    select * from {{ ref('stg_tickets__events') }}
    {% if is_incremental() %}
    where {{ in_rebuild_scope('ticket', 'ticket_id') }}
    {% endif %}

),

events_sequenced as (

    select
        ticket_id,
        event_id,
        event_type,
        occurred_at,
        status,
        group_name,
        author_role,
        is_public,
        {{ last_non_null('status') }} over (
            {{ ticket_order }} rows between unbounded preceding and 1 preceding
        ) as previous_status,
        -- the status after this event (the one the next event changes from), and how many
        -- events gave a status before and up to it: an episode's final status is its last
        -- one only if one of its own events gave it
        {{ last_non_null('status') }} over (
            {{ ticket_order }} rows between unbounded preceding and current row
        ) as current_status,
        count(status) over (
            {{ ticket_order }} rows between unbounded preceding and 1 preceding
        ) as statuses_before,
        count(status) over (
            {{ ticket_order }} rows between unbounded preceding and current row
        ) as statuses_so_far,
        -- what the next event is: none (-1), a creation (1), a change to new/open/pending (2)
        -- which reopens the ticket if it is solved now, or anything else (0)
        lead(
            case
                when event_type = 'created' then 1
                when event_type = 'status_changed' and status in ('new', 'open', 'pending') then 2
                else 0
            end,
            1,
            -1
        ) over ({{ ticket_order }}) as next_event_kind,
        -- group changes after the first assignment are hand-offs: the group of the previous
        -- assignment (' ' stands for an assignment without a group; no group code is blank)
        nullif(
            {{ last_non_null("case when event_type = 'assigned' then coalesce(group_name, ' ') end") }} over (
                {{ ticket_order }} rows between unbounded preceding and 1 preceding
            ),
            ' '
        ) as previous_group,
        -- who owns the ticket after this event (and before it): the episode's handler is the
        -- owner at its end, its first agent the first owner during it
        {{ last_non_null("case when event_type = 'assigned' then agent_id end") }} over (
            {{ ticket_order }} rows between unbounded preceding and current row
        ) as owner_agent_id,
        {{ last_non_null("case when event_type = 'assigned' then agent_id end") }} over (
            {{ ticket_order }} rows between unbounded preceding and 1 preceding
        ) as previous_owner_agent_id,
        {{ last_non_null("case when event_type = 'assigned' then group_name end") }} over (
            {{ ticket_order }} rows between unbounded preceding and current row
        ) as owner_group,
        -- the ticket's latest reason given (agents re-categorise tickets once they understand
        -- them) and its first group
        {{ last_non_null('contact_reason') }} over ({{ whole_ticket }}) as ticket_reason,
        {{ first_non_null('group_name') }} over ({{ whole_ticket }}) as ticket_first_group,
        -- the ticket's channel (its creation's) and requester, which can be filled in after
        -- the creation: any event's value counts (the greatest, should two differ).
        -- Performance: taken in this pass, not by grouping the events and joining the groups
        -- back, so the events are read once (10 M contacts: 25.8-29.4 -> 21.7-21.8 s)
        max(case when event_type = 'created' then channel end) over ({{ whole_ticket }}) as ticket_channel,
        max(customer_id) over ({{ whole_ticket }}) as ticket_customer_id,
        max(requester_email) over ({{ whole_ticket }}) as ticket_requester_email

    from ticket_events

),

episode_bounds_flagged as (

    select
        *,
        case
            when event_type = 'created' then 1
            when event_type = 'status_changed'
                and previous_status = 'solved'
                and status in ('new', 'open', 'pending') then 1
            else 0
        end as is_episode_start,
        next_event_kind = -1 or next_event_kind = 1
            or (next_event_kind = 2 and current_status = 'solved') as is_episode_end

    from events_sequenced

),

events_summarised as (

    -- what each event adds to its episode: values needed from an episode's first or last
    -- event only are kept on that event (few columns through the second sort)
    select
        ticket_id,
        occurred_at,
        event_id,
        is_episode_start,
        case when is_episode_start = 1 then event_id end as start_event_id,
        case when is_episode_start = 1 and event_type = 'created' then 1 else 0 end as is_created_start,
        case when status = 'solved' then occurred_at end as solved_at,
        case
            when event_type = 'assigned'
                and previous_group is not null
                and group_name <> previous_group then 1
            else 0
        end as is_group_change,
        case
            when event_type = 'commented' and author_role = 'customer'
                and previous_status in ('new', 'open') then 1
            else 0
        end as is_chaser,
        case
            when event_type = 'commented' and author_role = 'agent' and is_public then 1
            else 0
        end as is_public_agent_reply,
        -- the owner is never unset once set: the first owner during an episode is the owner
        -- at its start, or the one who took the ticket over from nobody during it
        case
            when is_episode_start = 1 or previous_owner_agent_id is null then owner_agent_id
        end as first_owner_agent_id,
        case when is_episode_start = 1 then statuses_before end as statuses_before_start,
        case when is_episode_end then statuses_so_far end as statuses_at_end,
        case when is_episode_end then current_status end as status_at_end,
        case when is_episode_end then owner_agent_id end as owner_agent_id_at_end,
        case when is_episode_end then owner_group end as owner_group_at_end,
        case when is_episode_end then ticket_reason end as ticket_reason,
        case when is_episode_end then ticket_first_group end as ticket_first_group,
        case when is_episode_end then ticket_channel end as ticket_channel,
        case when is_episode_end then ticket_customer_id end as ticket_customer_id,
        case when is_episode_end then ticket_requester_email end as ticket_requester_email

    from episode_bounds_flagged

),

events_numbered as (

    select
        *,
        sum(is_episode_start) over (
            {{ ticket_order }} rows between unbounded preceding and current row
        ) as episode_seq

    from events_summarised

),

episodes as (

    select
        ticket_id,
        episode_seq,
        min(start_event_id) as start_event_id,
        max(is_created_start) = 1 as is_created,
        min(occurred_at) as started_at,
        max(occurred_at) as last_activity_at,
        max(solved_at) as solved_at,
        sum(is_group_change) as group_changes,
        sum(is_chaser) as chasers,
        sum(is_public_agent_reply) as public_agent_replies,
        max(first_owner_agent_id) as first_owner_agent_id,
        max(owner_agent_id_at_end) as owner_agent_id,
        max(owner_group_at_end) as owner_group,
        -- the last status given during the episode
        case
            when max(statuses_at_end) > max(statuses_before_start) then max(status_at_end)
        end as final_status,
        max(ticket_reason) as contact_reason,
        max(ticket_first_group) as first_group,
        max(ticket_channel) as channel,
        max(ticket_customer_id) as customer_id,
        max(ticket_requester_email) as requester_email

    from events_numbered
    where episode_seq > 0
    group by ticket_id, episode_seq

),

final as (

    select
        -- a ticket whose creation never arrived (quarantined) still has its reopens
        case
            when is_created then 'ticket:' || ticket_id
            else 'reopen:' || start_event_id
        end as contact_id,
        case when is_created then 'ticket' else 'reopen' end as contact_type,
        ticket_id,
        episode_seq,
        coalesce(channel, 'other') as channel,
        customer_id,
        requester_email,
        contact_reason,
        first_group,
        started_at,
        last_activity_at,
        final_status,
        final_status in ('solved', 'closed') as is_resolved,
        case
            when final_status in ('solved', 'closed')
                then coalesce(solved_at, last_activity_at)
        end as resolved_at,
        -- the contact is over when it was solved; later system closes and ratings are not
        -- customer contact. An unsolved episode lasts until its latest event so far.
        case
            when final_status in ('solved', 'closed')
                then coalesce(solved_at, last_activity_at)
            else last_activity_at
        end as ended_at,
        group_changes,
        chasers,
        public_agent_replies,
        first_owner_agent_id as first_agent_id,
        owner_agent_id as handled_by_agent_id,
        owner_group as handled_in_queue,
        {{ built_run() }} as _built_run

    from episodes

)

select *, {{ row_hash() }} as _row_hash from final
