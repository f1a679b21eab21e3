-- One row per agent seen in the feeds, with the team their work is attributed to. The feeds
-- carry no roster, so an agent's team is the queue (calls) or group (tickets) in which they
-- did most of their work: answered legs plus ticket assignments (DECISIONLOG.md, "Attribution").
-- Rebuilt whole by every build (a team depends on all of an agent's work), remembering the
-- team each agent had before: an incremental build re-attributes the contacts of the agents
-- whose team changed.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='agent_id',
    meta={'rebuild_scope': 'true'},
) }}

with

legs as (

    select * from {{ ref('stg_calls__legs') }}

),

ticket_events as (

    select * from {{ ref('stg_tickets__events') }}

),

work_items as (

    select agent_id, queue, arrived_at as worked_at, 1 as is_call_leg
    from legs
    where agent_id is not null and answered_at is not null

    union all

    select agent_id, group_name as queue, occurred_at as worked_at, 0 as is_call_leg
    from ticket_events
    where event_type = 'assigned' and agent_id is not null and group_name is not null

),

work_per_queue as (

    select
        agent_id,
        queue,
        count(*) as work_items,
        row_number() over (partition by agent_id order by count(*) desc, queue) as queue_rank

    from work_items
    group by agent_id, queue

),

agents_summarised as (

    select
        agent_id,
        min(worked_at) as first_worked_at,
        max(worked_at) as last_worked_at,
        sum(is_call_leg) as call_legs_answered,
        sum(1 - is_call_leg) as ticket_assignments,
        count(distinct queue) as queues_worked

    from work_items
    group by agent_id

),

agents_assigned as (

    select
        agents_summarised.agent_id,
        work_per_queue.queue as primary_queue,
        work_per_queue.queue as team,
        agents_summarised.queues_worked,
        agents_summarised.call_legs_answered,
        agents_summarised.ticket_assignments,
        agents_summarised.first_worked_at,
        agents_summarised.last_worked_at

    from agents_summarised
    inner join work_per_queue
        on agents_summarised.agent_id = work_per_queue.agent_id
        and work_per_queue.queue_rank = 1

),

final as (

    select
        agents_assigned.*,
        {% if is_incremental() %}
        previous.team as previous_team,
        agents_assigned.team is distinct from previous.team as is_team_changed,
        {% else %}
        cast(null as {{ dbt.type_string() }}) as previous_team,
        false as is_team_changed,
        {% endif %}
        {{ built_run() }} as _built_run

    from agents_assigned
    {% if is_incremental() %}
    left join {{ this }} as previous
        on agents_assigned.agent_id = previous.agent_id
    {% endif %}

)

select * from final
