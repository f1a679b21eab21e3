-- One row per queue (telephony queue or skill) and helpdesk group, the places contacts
-- are routed to; 'unassigned' holds tickets that never reached a group, 'unknown' legs
-- without a queue.

with

legs as (

    select * from {{ ref('stg_calls__legs') }}

),

ticket_events as (

    select * from {{ ref('stg_tickets__events') }}

),

places as (

    select coalesce(queue, 'unknown') as queue, 1 as is_call_queue, 0 as is_ticket_group, arrived_at as seen_at
    from legs

    union all

    select group_name as queue, 0 as is_call_queue, 1 as is_ticket_group, occurred_at as seen_at
    from ticket_events
    where group_name is not null

    union all

    select 'unassigned' as queue, 0 as is_call_queue, 1 as is_ticket_group, occurred_at as seen_at
    from ticket_events
    where event_type = 'created'

),

final as (

    select
        cast(queue as {{ dbt.type_string() }}) as queue,
        max(is_call_queue) = 1 as is_call_queue,
        max(is_ticket_group) = 1 as is_ticket_group,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at

    from places
    group by queue

)

select * from final
