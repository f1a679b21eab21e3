with

source as (

    select * from {{ source('ingest', '_feed_status') }}

),

final as (

    select
        feed,
        status as feed_status,
        status = 'degraded' as is_degraded,
        since as status_since,
        reason as status_reason,
        path as status_path,
        updated_at as status_updated_at

    from source

)

select * from final
