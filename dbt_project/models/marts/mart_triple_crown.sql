-- The triple crown per local month (metrics.md): cost (cost per resolution), service
-- (successful customer outcome rate) and revenue (churn after contact, durably resolved vs
-- not; revenue at risk). Issues count in the month they started. Handling cost is all agent
-- handle time of the month (answered legs of every direction: unidentified callers and
-- outbound follow-ups cost too) × cost_per_agent_hour. Incremental: a build recomputes the
-- months whose legs or issues it changed.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='month_start',
    meta={'rebuild_scope': "{{ in_rebuilt_periods('month_start', 'month') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}
-- depends_on: {{ ref('fct_contacts') }}
-- depends_on: {{ ref('fct_tickets') }}

with

legs as (

    select * from {{ ref('fct_call_legs') }}
    where is_answered
    {% if is_incremental() %}
        and {{ in_rebuilt_periods('cast(' ~ dbt.date_trunc('month', 'arrived_date') ~ ' as date)', 'month') }}
    {% endif %}

),

issues as (

    select * from {{ ref('fct_issues') }}
    {% if is_incremental() %}
    where {{ in_rebuilt_periods('issue_started_month', 'month') }}
    {% endif %}

),

monthly_costs as (

    select
        cast({{ dbt.date_trunc('month', 'arrived_date') }} as date) as month_start,
        {{ exact_sum('handle_seconds') }} as handle_seconds,
        {{ exact_sum('handling_cost', 6) }} as handling_cost

    from legs
    group by 1

),

customers_at_risk as (

    select issue_started_month as month_start, customer_id, max(mrr_at_start) as mrr_at_start
    from issues
    where is_revenue_at_risk
    group by 1, 2

),

monthly_revenue_at_risk as (

    select
        month_start,
        count(*) as customers_at_risk,
        {{ exact_sum('coalesce(mrr_at_start, 0)', 6) }} as revenue_at_risk

    from customers_at_risk
    group by 1

),

monthly_outcomes as (

    select
        issue_started_month as month_start,
        count(*) as issues_started,
        sum(case when is_mature then 1 else 0 end) as issues_mature,
        sum(case when is_durably_resolved then 1 else 0 end) as issues_durably_resolved,
        sum(case when is_successful_customer_outcome then 1 else 0 end) as issues_successful_outcome,
        {{ percentile('case when is_durably_resolved then time_to_resolution_seconds end', 0.5) }}
            as median_time_to_resolution_seconds,
        {{ percentile('case when is_durably_resolved then time_to_resolution_seconds end', 0.9) }}
            as p90_time_to_resolution_seconds,
        {% for days in [30, 90] %}
        sum(case when is_churn_observed_{{ days }}d and is_durably_resolved then 1 else 0 end)
            as resolved_issues_observed_{{ days }}d,
        sum(case when is_churn_observed_{{ days }}d and is_durably_resolved and has_churned_within_{{ days }}d then 1 else 0 end)
            as resolved_issues_churned_{{ days }}d,
        sum(case when is_churn_observed_{{ days }}d and is_mature and not is_durably_resolved then 1 else 0 end)
            as unresolved_issues_observed_{{ days }}d,
        sum(case when is_churn_observed_{{ days }}d and is_mature and not is_durably_resolved and has_churned_within_{{ days }}d then 1 else 0 end)
            as unresolved_issues_churned_{{ days }}d{{ ',' if not loop.last }}
        {% endfor %}

    from issues
    group by 1

),

months as (

    select month_start from monthly_costs
    union
    select month_start from monthly_outcomes

),

{% set counts = ['issues_started', 'issues_mature', 'issues_durably_resolved', 'issues_successful_outcome',
    'resolved_issues_observed_30d', 'resolved_issues_churned_30d', 'unresolved_issues_observed_30d',
    'unresolved_issues_churned_30d', 'resolved_issues_observed_90d', 'resolved_issues_churned_90d',
    'unresolved_issues_observed_90d', 'unresolved_issues_churned_90d'] %}

joined as (

    select
        months.month_start,
        cast(coalesce(monthly_costs.handle_seconds, 0) as double) as handle_seconds,
        cast(coalesce(monthly_costs.handling_cost, 0) as double) as handling_cost,
        {% for column in counts %}
        cast(coalesce(monthly_outcomes.{{ column }}, 0) as {{ dbt.type_bigint() }}) as {{ column }},
        {% endfor %}
        cast(coalesce(monthly_revenue_at_risk.customers_at_risk, 0) as {{ dbt.type_bigint() }}) as customers_at_risk,
        cast(coalesce(monthly_revenue_at_risk.revenue_at_risk, 0) as double) as revenue_at_risk,
        cast(monthly_outcomes.median_time_to_resolution_seconds as double) as median_time_to_resolution_seconds,
        cast(monthly_outcomes.p90_time_to_resolution_seconds as double) as p90_time_to_resolution_seconds

    from months
    left join monthly_costs
        on months.month_start = monthly_costs.month_start
    left join monthly_outcomes
        on months.month_start = monthly_outcomes.month_start
    left join monthly_revenue_at_risk
        on months.month_start = monthly_revenue_at_risk.month_start

),

final as (

    select
        *,
        handling_cost / nullif(issues_durably_resolved, 0) as cost_per_resolution,
        cast(issues_successful_outcome as double) / nullif(issues_mature, 0) as sco_rate,
        {% for days in [30, 90] %}
        cast(resolved_issues_churned_{{ days }}d as double)
            / nullif(resolved_issues_observed_{{ days }}d, 0) as churn_{{ days }}d_after_resolved,
        cast(unresolved_issues_churned_{{ days }}d as double)
            / nullif(unresolved_issues_observed_{{ days }}d, 0) as churn_{{ days }}d_after_unresolved,
        {% endfor %}
        {{ built_run() }} as _built_run

    from joined

)

select * from final
