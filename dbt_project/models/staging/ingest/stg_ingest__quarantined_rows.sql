with

source as (

    select * from {{ source('ingest', '_quarantine') }}

),

final as (

    select
        file_id,
        feed,
        path,
        line,
        record_key,
        reason,
        case
            when reason like 'quality!_refused:%' escape '!' then 'refused_file'
            when reason like 'quality:%' then 'quality_gate'
            else 'contract'
        end as caught_by,
        quarantined_at,
        replayed_at is not null as is_replayed

    from source

)

select * from final
