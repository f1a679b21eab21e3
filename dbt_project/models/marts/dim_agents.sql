-- One row per agent seen in the feeds, with the team their work is attributed to (the
-- feeds carry no roster: an agent's team is the queue or group of most of their work).

with

agents as (

    select * from {{ ref('int_agents_assigned_to_teams') }}

),

final as (

    select
        cast(agent_id as {{ dbt.type_string() }}) as agent_id,
        cast(team as {{ dbt.type_string() }}) as team,
        cast(primary_queue as {{ dbt.type_string() }}) as primary_queue,
        cast(queues_worked as {{ dbt.type_bigint() }}) as queues_worked,
        cast(call_legs_answered as {{ dbt.type_bigint() }}) as call_legs_answered,
        cast(ticket_assignments as {{ dbt.type_bigint() }}) as ticket_assignments,
        first_worked_at,
        last_worked_at

    from agents

)

select * from final
