with

source as (

    select * from {{ source('ingest', '_files') }}

),

final as (

    select
        file_id,
        feed,
        path,
        format,
        status,
        rows_read,
        rows_inserted,
        rows_updated,
        rows_duplicate,
        rows_quarantined,
        min_event_at,
        max_event_at,
        error,
        started_at,
        finished_at,
        cast(finished_at as date) as ingested_date

    from source

)

select * from final
