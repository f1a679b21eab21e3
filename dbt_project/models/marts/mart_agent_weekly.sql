-- Per agent × week (local weeks starting Monday): the agent's outputs (answered legs, AHT)
-- beside the outcomes of the work they handled (metrics.md, "attribution"): the share of the
-- contacts they handled that were followed by another contact of the issue (the repeats
-- charged to them), and the FCR of the issues credited to them (their first contact). The
-- AHT trap quadrant compares each agent with the week's median agent: handle time below the
-- median with a repeat rate above it is fast work that creates more work. Incremental: a
-- build recomputes every agent of the weeks whose facts it changed (the medians are per
-- week), and the weeks of the agents whose team changed.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='week_start',
    meta={
        'rebuild_scope': "{{ in_rebuilt_periods('week_start', 'week') }}
            or week_start in (select week_start from {{ this }} where {{ in_changed_agents('agent_id') }})",
        'grain': ['agent_id', 'week_start'],
    },
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}
-- depends_on: {{ ref('fct_tickets') }}
-- depends_on: {{ ref('int_agents_assigned_to_teams') }}

{% set weeks_of_changed_agents -%}
    select week_start from {{ this }} where {{ in_changed_agents('agent_id') }}
{%- endset %}
{% set arrived_week = 'cast(' ~ dbt.date_trunc('week', 'arrived_date') ~ ' as date)' %}
{% set started_week = 'cast(' ~ dbt.date_trunc('week', 'started_date') ~ ' as date)' %}

with

legs as (

    select * from {{ ref('fct_call_legs') }}
    where is_customer_initiated and is_handled
    {% if is_incremental() %}
        and (
            {{ in_rebuilt_periods(arrived_week, 'week') }}
            or {{ arrived_week }} in ({{ weeks_of_changed_agents }})
        )
    {% endif %}

),

contacts as (

    select * from {{ ref('fct_contacts') }}
    where is_identified and handled_by_agent_id is not null
    {% if is_incremental() %}
        and (
            {{ in_rebuilt_periods(started_week, 'week') }}
            or {{ started_week }} in ({{ weeks_of_changed_agents }})
        )
    {% endif %}

),

issues as (

    select * from {{ ref('fct_issues') }}
    where credited_agent_id is not null
    {% if is_incremental() %}
        and (
            {{ in_rebuilt_periods('issue_started_week', 'week') }}
            or issue_started_week in ({{ weeks_of_changed_agents }})
        )
    {% endif %}

),

agents as (

    select * from {{ ref('dim_agents') }}

),

leg_outputs as (

    select
        agent_id,
        cast({{ dbt.date_trunc('week', 'arrived_date') }} as date) as week_start,
        count(*) as legs_handled,
        {{ exact_sum('handle_seconds') }} as handle_seconds,
        sum(case when is_transferred then 1 else 0 end) as legs_transferred

    from legs
    group by 1, 2

),

contact_outcomes as (

    select
        handled_by_agent_id as agent_id,
        cast({{ dbt.date_trunc('week', 'started_date') }} as date) as week_start,
        count(*) as contacts_handled,
        sum(case when is_followed_by_repeat then 1 else 0 end) as repeats_charged

    from contacts
    group by 1, 2

),

issue_outcomes as (

    select
        credited_agent_id as agent_id,
        issue_started_week as week_start,
        count(*) as issues_credited,
        sum(case when is_mature then 1 else 0 end) as issues_credited_mature,
        sum(case when is_first_contact_resolution then 1 else 0 end) as issues_credited_first_contact_resolved,
        sum(case when is_durably_resolved then 1 else 0 end) as issues_credited_durably_resolved

    from issues
    group by 1, 2

),

grain as (

    select agent_id, week_start from leg_outputs
    union
    select agent_id, week_start from contact_outcomes
    union
    select agent_id, week_start from issue_outcomes

),

joined as (

    select
        grain.agent_id,
        grain.week_start,
        agents.team,
        cast(coalesce(leg_outputs.legs_handled, 0) as {{ dbt.type_bigint() }}) as legs_handled,
        cast(coalesce(leg_outputs.handle_seconds, 0) as double) as handle_seconds,
        cast(coalesce(leg_outputs.legs_transferred, 0) as {{ dbt.type_bigint() }}) as legs_transferred,
        cast(coalesce(contact_outcomes.contacts_handled, 0) as {{ dbt.type_bigint() }}) as contacts_handled,
        cast(coalesce(contact_outcomes.repeats_charged, 0) as {{ dbt.type_bigint() }}) as repeats_charged,
        cast(coalesce(issue_outcomes.issues_credited, 0) as {{ dbt.type_bigint() }}) as issues_credited,
        cast(coalesce(issue_outcomes.issues_credited_mature, 0) as {{ dbt.type_bigint() }}) as issues_credited_mature,
        cast(coalesce(issue_outcomes.issues_credited_first_contact_resolved, 0) as {{ dbt.type_bigint() }})
            as issues_credited_first_contact_resolved,
        cast(coalesce(issue_outcomes.issues_credited_durably_resolved, 0) as {{ dbt.type_bigint() }})
            as issues_credited_durably_resolved

    from grain
    left join agents
        on grain.agent_id = agents.agent_id
    left join leg_outputs
        on grain.agent_id = leg_outputs.agent_id
        and grain.week_start = leg_outputs.week_start
    left join contact_outcomes
        on grain.agent_id = contact_outcomes.agent_id
        and grain.week_start = contact_outcomes.week_start
    left join issue_outcomes
        on grain.agent_id = issue_outcomes.agent_id
        and grain.week_start = issue_outcomes.week_start

),

rates_computed as (

    select
        *,
        handle_seconds / nullif(legs_handled, 0) as aht_seconds,
        cast(repeats_charged as double) / nullif(contacts_handled, 0) as repeat_rate,
        cast(issues_credited_first_contact_resolved as double) / nullif(issues_credited_mature, 0) as fcr_rate

    from joined

),

weekly_medians as (

    -- the median agent of the week, over agents with both a handle time and a repeat rate
    select
        week_start,
        {{ percentile('aht_seconds', 0.5) }} as median_aht_seconds,
        {{ percentile('repeat_rate', 0.5) }} as median_repeat_rate

    from rates_computed
    where aht_seconds is not null and repeat_rate is not null
    group by week_start

),

final as (

    select
        cast(rates_computed.agent_id as {{ dbt.type_string() }}) as agent_id,
        rates_computed.week_start,
        cast(rates_computed.team as {{ dbt.type_string() }}) as team,
        rates_computed.legs_handled,
        rates_computed.handle_seconds,
        rates_computed.legs_transferred,
        rates_computed.contacts_handled,
        rates_computed.repeats_charged,
        rates_computed.issues_credited,
        rates_computed.issues_credited_mature,
        rates_computed.issues_credited_first_contact_resolved,
        rates_computed.issues_credited_durably_resolved,
        rates_computed.aht_seconds,
        rates_computed.repeat_rate,
        rates_computed.fcr_rate,
        cast(weekly_medians.median_aht_seconds as double) as median_aht_seconds,
        cast(weekly_medians.median_repeat_rate as double) as median_repeat_rate,
        cast(
            case
                when rates_computed.aht_seconds is null or rates_computed.repeat_rate is null then 'not_rated'
                when rates_computed.aht_seconds < weekly_medians.median_aht_seconds
                    and rates_computed.repeat_rate > weekly_medians.median_repeat_rate then 'aht_trap'
                when rates_computed.aht_seconds < weekly_medians.median_aht_seconds then 'fast_and_effective'
                when rates_computed.repeat_rate > weekly_medians.median_repeat_rate then 'slow_and_repeating'
                else 'slow_and_effective'
            end as {{ dbt.type_string() }}
        ) as aht_quadrant,
        coalesce(
            rates_computed.aht_seconds < weekly_medians.median_aht_seconds
            and rates_computed.repeat_rate > weekly_medians.median_repeat_rate,
            false
        ) as is_aht_trap,
        {{ built_run() }} as _built_run

    from rates_computed
    left join weekly_medians
        on rates_computed.week_start = weekly_medians.week_start

)

select * from final
