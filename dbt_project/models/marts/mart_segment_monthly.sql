-- Per month × customer segment × needs category (the customer's CRM attributes when the issue
-- began; months are local and count issues by the month they started): outcomes, effort,
-- churn after contact and revenue at risk. Counts are additive across rows; revenue at risk
-- counts each customer once per row, so it is additive across segments within a month only
-- (a customer belongs to one segment at a time) and not across months. Incremental: a build
-- recomputes the months whose issues it changed.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='month_start',
    meta={
        'rebuild_scope': "{{ in_rebuilt_periods('month_start', 'month') }}",
        'grain': ['month_start', 'segment', 'needs_category'],
    },
) }}

-- depends_on: {{ ref('int_rebuild_scope') }}
-- depends_on: {{ ref('fct_call_legs') }}
-- depends_on: {{ ref('fct_contacts') }}
-- depends_on: {{ ref('fct_tickets') }}

with

issues as (

    select * from {{ ref('fct_issues') }}
    {% if is_incremental() %}
    where {{ in_rebuilt_periods('issue_started_month', 'month') }}
    {% endif %}

),

customers_at_risk as (

    -- a customer with several open or failed issues in the month puts their revenue at risk once
    select
        issue_started_month,
        segment,
        needs_category,
        customer_id,
        max(mrr_at_start) as mrr_at_start

    from issues
    where is_revenue_at_risk
    group by 1, 2, 3, 4

),

revenue_at_risk as (

    select
        issue_started_month,
        segment,
        needs_category,
        count(*) as customers_at_risk,
        {{ exact_sum('coalesce(mrr_at_start, 0)', 6) }} as revenue_at_risk

    from customers_at_risk
    group by 1, 2, 3

),

issue_outcomes as (

    select
        issue_started_month,
        segment,
        needs_category,
        count(distinct customer_id) as customers,
        count(*) as issues_started,
        sum(case when is_mature then 1 else 0 end) as issues_mature,
        sum(case when is_durably_resolved then 1 else 0 end) as issues_durably_resolved,
        sum(case when is_first_contact_resolution then 1 else 0 end) as issues_first_contact_resolved,
        sum(case when is_successful_customer_outcome then 1 else 0 end) as issues_successful_outcome,
        sum(contacts) as issue_contacts,
        sum(repeat_contacts) as repeat_contacts,
        sum(case when is_mature then contacts else 0 end) as mature_issue_contacts,
        sum(case when is_mature then handoffs else 0 end) as mature_issue_handoffs,
        {{ exact_sum('handling_cost', 6) }} as handling_cost,
        {% for days in [30, 90] %}
        sum(case when is_churn_observed_{{ days }}d and is_durably_resolved then 1 else 0 end)
            as resolved_issues_observed_{{ days }}d,
        sum(case when is_churn_observed_{{ days }}d and is_durably_resolved and has_churned_within_{{ days }}d then 1 else 0 end)
            as resolved_issues_churned_{{ days }}d,
        sum(case when is_churn_observed_{{ days }}d and is_mature and not is_durably_resolved then 1 else 0 end)
            as unresolved_issues_observed_{{ days }}d,
        sum(case when is_churn_observed_{{ days }}d and is_mature and not is_durably_resolved and has_churned_within_{{ days }}d then 1 else 0 end)
            as unresolved_issues_churned_{{ days }}d,
        {% endfor %}
        {{ percentile('case when is_durably_resolved then time_to_resolution_seconds end', 0.5) }}
            as median_time_to_resolution_seconds,
        {{ percentile('case when is_durably_resolved then time_to_resolution_seconds end', 0.9) }}
            as p90_time_to_resolution_seconds

    from issues
    group by 1, 2, 3

),

{% set counts = ['customers', 'issues_started', 'issues_mature', 'issues_durably_resolved',
    'issues_first_contact_resolved', 'issues_successful_outcome', 'issue_contacts', 'repeat_contacts',
    'mature_issue_contacts', 'mature_issue_handoffs',
    'resolved_issues_observed_30d', 'resolved_issues_churned_30d', 'unresolved_issues_observed_30d',
    'unresolved_issues_churned_30d', 'resolved_issues_observed_90d', 'resolved_issues_churned_90d',
    'unresolved_issues_observed_90d', 'unresolved_issues_churned_90d'] %}

final as (

    select
        issue_outcomes.issue_started_month as month_start,
        cast(issue_outcomes.segment as {{ dbt.type_string() }}) as segment,
        cast(issue_outcomes.needs_category as {{ dbt.type_string() }}) as needs_category,
        {% for column in counts %}
        cast(issue_outcomes.{{ column }} as {{ dbt.type_bigint() }}) as {{ column }},
        {% endfor %}
        cast(coalesce(revenue_at_risk.customers_at_risk, 0) as {{ dbt.type_bigint() }}) as customers_at_risk,
        cast(coalesce(revenue_at_risk.revenue_at_risk, 0) as double) as revenue_at_risk,
        cast(issue_outcomes.handling_cost as double) as handling_cost,
        cast(issue_outcomes.median_time_to_resolution_seconds as double) as median_time_to_resolution_seconds,
        cast(issue_outcomes.p90_time_to_resolution_seconds as double) as p90_time_to_resolution_seconds,
        cast(issue_outcomes.issues_first_contact_resolved as double) / nullif(issue_outcomes.issues_mature, 0) as fcr_rate,
        cast(issue_outcomes.repeat_contacts as double) / nullif(issue_outcomes.issue_contacts, 0) as repeat_contact_rate,
        cast(issue_outcomes.issues_successful_outcome as double) / nullif(issue_outcomes.issues_mature, 0) as sco_rate,
        cast(issue_outcomes.mature_issue_contacts as double)
            / nullif(issue_outcomes.issues_durably_resolved, 0) as contacts_per_resolution,
        cast(issue_outcomes.resolved_issues_churned_30d as double)
            / nullif(issue_outcomes.resolved_issues_observed_30d, 0) as churn_30d_after_resolved,
        cast(issue_outcomes.unresolved_issues_churned_30d as double)
            / nullif(issue_outcomes.unresolved_issues_observed_30d, 0) as churn_30d_after_unresolved,
        {{ built_run() }} as _built_run

    from issue_outcomes
    left join revenue_at_risk
        on issue_outcomes.issue_started_month = revenue_at_risk.issue_started_month
        and issue_outcomes.segment = revenue_at_risk.segment
        and issue_outcomes.needs_category = revenue_at_risk.needs_category

)

select * from final
