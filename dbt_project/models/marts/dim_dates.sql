-- The centre's calendar: one row per local day from the first contact day to 90 days after
-- the last (churn after contact looks that far ahead). Also the time spine of the semantic
-- layer (MetricFlow).

{% set max_days = 8192 %}

with

legs as (

    select * from {{ ref('stg_calls__legs') }}

),

ticket_events as (

    select * from {{ ref('stg_tickets__events') }}

),

bounds as (

    select
        min(first_day) as first_day,
        max(last_day) as last_day

    from (
        select {{ local_date('min(arrived_at)') }} as first_day, {{ local_date('max(ended_at)') }} as last_day
        from legs
        union all
        select {{ local_date('min(occurred_at)') }} as first_day, {{ local_date('max(occurred_at)') }} as last_day
        from ticket_events
    ) as per_feed

),

day_numbers as (

    {{ dbt.generate_series(max_days) }}

),

days as (

    select cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'bounds.first_day') }} as date) as date_day
    from day_numbers
    cross join bounds
    where day_numbers.generated_number - 1
        <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }} + 90

),

final as (

    select
        date_day,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        cast({{ iso_weekday('date_day') }} as {{ dbt.type_bigint() }}) as iso_weekday,
        {{ iso_weekday('date_day') }} in ({{ var('business_days') | join(', ') }}) as is_business_day

    from days

)

select * from final
