with

source as (

    select * from {{ source('changes', '_changed_days') }}

),

final as (

    select distinct
        run_id,
        feed,
        event_date

    from source

)

select * from final
