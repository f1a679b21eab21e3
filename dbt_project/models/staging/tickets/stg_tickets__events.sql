with

source as (

    select * from {{ source('tickets', 'tickets') }}

),

final as (

    select
        event_id,
        ticket_id,
        event_type,
        occurred_at,
        channel,
        nullif(trim(customer_id), '') as customer_id,
        {{ normalize_email('requester_email') }} as requester_email,
        status,
        {{ normalize_code(adapter.quote('group')) }} as group_name,
        nullif(trim(agent_id), '') as agent_id,
        author_role,
        is_public,
        {{ normalize_code('contact_reason') }} as contact_reason,
        priority,
        rating,
        nullif(trim(merged_into_ticket_id), '') as merged_into_ticket_id,
        emitted_at

    from source

)

select * from final
