with

source as (

    select * from {{ source('calls', 'calls') }}

),

renamed as (

    select
        leg_id,
        call_id,
        leg_seq,
        direction,
        direction in ('inbound', 'callback') as is_customer_initiated,
        nullif(trim(customer_id), '') as customer_id,
        -- E.164 (or its keyed hash) since ingest: docs/ingest.md, "Identity and PII"
        nullif(trim(phone_number), '') as phone_number,
        {{ normalize_code('queue') }} as queue,
        nullif(trim(agent_id), '') as agent_id,
        arrived_at,
        queued_at,
        answered_at,
        ended_at,
        coalesce(talk_seconds, 0) as talk_seconds,
        coalesce(hold_seconds, 0) as hold_seconds,
        coalesce(acw_seconds, 0) as acw_seconds,
        disposition,
        {{ normalize_code('transferred_to_queue') }} as transferred_to_queue,
        {{ normalize_code('contact_reason') }} as contact_reason,
        agent_resolution,
        nullif(trim(ticket_id), '') as ticket_id,
        emitted_at

    from source

),

classified as (

    select
        *,
        queued_at is not null as is_queued,
        answered_at is not null as is_answered,
        case
            when queued_at is null then null
            when answered_at is not null then {{ seconds_between('queued_at', 'answered_at') }}
            else {{ seconds_between('queued_at', 'ended_at') }}
        end as queue_seconds,
        case
            when answered_at is not null then talk_seconds + hold_seconds + acw_seconds
        end as handle_seconds

    from renamed

),

final as (

    select
        *,
        is_customer_initiated and is_queued as is_offered,
        is_customer_initiated and is_answered as is_handled,
        is_customer_initiated and is_queued and not is_answered
            and queue_seconds <= {{ var('short_abandon_seconds') }} as is_short_abandon,
        is_customer_initiated and is_queued and not is_answered
            and queue_seconds > {{ var('short_abandon_seconds') }} as is_abandoned,
        is_customer_initiated and not is_queued and not is_answered as is_ivr_hangup,
        is_customer_initiated and is_answered
            and queue_seconds <= {{ var('service_level_seconds') }} as is_answered_within_service_level,
        is_customer_initiated and is_answered and disposition = 'transferred' as is_transferred

    from classified

)

select * from final
