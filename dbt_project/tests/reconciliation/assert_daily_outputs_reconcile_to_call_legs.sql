-- The outputs in mart_daily_outcomes add up to the leg-level facts, and the legs to staging.

{% set measures = ['offered', 'handled', 'abandoned', 'short_abandons', 'ivr_hangups',
    'answered_within_service_level', 'transferred'] %}

with

legs as (

    select * from {{ ref('fct_call_legs') }}

),

staged_legs as (

    select * from {{ ref('stg_calls__legs') }}

),

daily as (

    select * from {{ ref('mart_daily_outcomes') }}

),

from_legs as (

    select
        sum(case when is_offered then 1 else 0 end) as offered,
        sum(case when is_handled then 1 else 0 end) as handled,
        sum(case when is_abandoned then 1 else 0 end) as abandoned,
        sum(case when is_short_abandon then 1 else 0 end) as short_abandons,
        sum(case when is_ivr_hangup then 1 else 0 end) as ivr_hangups,
        sum(case when is_answered_within_service_level then 1 else 0 end) as answered_within_service_level,
        sum(case when is_transferred then 1 else 0 end) as transferred,
        sum(case when is_handled then handle_seconds else 0 end) as handle_seconds,
        count(*) as legs

    from legs

),

from_daily as (

    select
        {% for measure in measures %}
        sum({{ measure }}) as {{ measure }},
        {% endfor %}
        sum(handle_seconds) as handle_seconds

    from daily

),

final as (

    {% for measure in measures %}
    select '{{ measure }}' as measure, from_legs.{{ measure }} as in_legs, from_daily.{{ measure }} as in_mart
    from from_legs cross join from_daily
    where coalesce(from_legs.{{ measure }}, 0) <> coalesce(from_daily.{{ measure }}, 0)
    union all
    {% endfor %}
    select 'handle_seconds' as measure, from_legs.handle_seconds as in_legs, from_daily.handle_seconds as in_mart
    from from_legs cross join from_daily
    where abs(coalesce(from_legs.handle_seconds, 0) - coalesce(from_daily.handle_seconds, 0)) > 0.001
    union all
    select 'legs' as measure, from_legs.legs as in_legs, (select count(*) from staged_legs) as in_mart
    from from_legs
    where from_legs.legs <> (select count(*) from staged_legs)

)

select * from final
