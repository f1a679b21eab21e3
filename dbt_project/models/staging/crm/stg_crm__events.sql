with

source as (

    select * from {{ source('crm', 'crm') }}

),

final as (

    select
        event_id,
        customer_id,
        event_type,
        occurred_at,
        {{ normalize_email('email') }} as email,
        -- E.164 (or its keyed hash) since ingest: docs/ingest.md, "Identity and PII"
        nullif(trim(phone_number), '') as phone_number,
        nullif(trim(segment), '') as segment,
        nullif(trim(needs_category), '') as needs_category,
        nullif(trim(region), '') as region,
        nullif(trim(timezone), '') as timezone,
        mrr,
        amount,
        currency,
        emitted_at

    from source

)

select * from final
