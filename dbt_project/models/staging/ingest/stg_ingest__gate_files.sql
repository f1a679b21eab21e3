with

source as (

    select * from {{ source('ingest', '_gate_files') }}

),

final as (

    select
        file_id,
        feed,
        path,
        batch_id,
        rows_checked,
        rows_failed,
        refused_reason,
        refused_reason is not null as is_refused,
        validated_at

    from source

)

select * from final
