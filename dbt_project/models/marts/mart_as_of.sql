-- The moment every outcome in the marts is judged as of (one row): var('as_of') if set, else
-- the newest call or ticket event in the data, so the same data always gives the same marts.
-- An issue is mature once repeat_window_days have passed since its last contact ended before
-- this moment; churn after an issue is observed once 30 (90) days have.

with

legs as (

    select * from {{ ref('stg_calls__legs') }}

),

ticket_events as (

    select * from {{ ref('stg_tickets__events') }}

),

horizon as (

    select {{ as_of_timestamp(
        'select greatest((select max(ended_at) from legs), (select max(occurred_at) from ticket_events))'
    ) }} as as_of_at

),

final as (

    select
        as_of_at,
        {{ local_date('as_of_at') }} as as_of_date,
        cast({{ var('repeat_window_days') }} as {{ dbt.type_bigint() }}) as repeat_window_days,
        cast({{ dbt.dateadd('second', -1 * var('repeat_window_days') * 86400, 'as_of_at') }} as timestamp)
            as mature_if_ended_by

    from horizon

)

select * from final
