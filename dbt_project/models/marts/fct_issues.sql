-- One row per issue (the customer's problem, metrics.md): its contacts across channels, its
-- maturity and outcome, effort, time to resolution, successful customer outcome, the
-- customer's churn after it, the revenue it puts at risk, and the agent, queue and team its
-- outcome is credited to (the handler of its first contact). Outcomes are judged as of the
-- moment in mart_as_of. Incremental: the issues of the customers a build re-stitched, and
-- the issues int_issues_assessed changed (e.g. crossing the maturity line).

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='issue_id',
    meta={'rebuild_scope': "{{ in_rebuilt_customers('customer_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_customers') }}

with

issues as (

    select * from {{ ref('int_issues_assessed') }}
    {% if is_incremental() %}
    where {{ is_built_now() }} or {{ in_rebuilt_customers('customer_id') }}
    {% endif %}

),

final as (

    select
        cast(issue_id as {{ dbt.type_string() }}) as issue_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(coalesce(contact_reason, 'unknown') as {{ dbt.type_string() }}) as contact_reason,
        cast(first_channel as {{ dbt.type_string() }}) as first_channel,
        cast(first_queue as {{ dbt.type_string() }}) as first_queue,
        cast(credited_agent_id as {{ dbt.type_string() }}) as credited_agent_id,
        cast(credited_queue as {{ dbt.type_string() }}) as credited_queue,
        cast(credited_team as {{ dbt.type_string() }}) as credited_team,
        cast(coalesce(segment, 'unknown') as {{ dbt.type_string() }}) as segment,
        cast(coalesce(needs_category, 'unknown') as {{ dbt.type_string() }}) as needs_category,
        cast(mrr_at_start as double) as mrr_at_start,
        first_contact_at,
        ended_at,
        resolved_at,
        {{ local_date('first_contact_at') }} as issue_started_date,
        cast({{ dbt.date_trunc('week', local_date('first_contact_at')) }} as date) as issue_started_week,
        cast({{ dbt.date_trunc('month', local_date('first_contact_at')) }} as date) as issue_started_month,
        cast(contacts as {{ dbt.type_bigint() }}) as contacts,
        cast(contacts - 1 as {{ dbt.type_bigint() }}) as repeat_contacts,
        cast(channels as {{ dbt.type_bigint() }}) as channels,
        cast(handoffs as {{ dbt.type_bigint() }}) as handoffs,
        cast(chasers as {{ dbt.type_bigint() }}) as chasers,
        cast(reopens as {{ dbt.type_bigint() }}) as reopens,
        cast(handle_seconds as double) as handle_seconds,
        cast(handling_cost as double) as handling_cost,
        cast(time_to_resolution_seconds as double) as time_to_resolution_seconds,
        cast(maturity_status as {{ dbt.type_string() }}) as maturity_status,
        cast(outcome_status as {{ dbt.type_string() }}) as outcome_status,
        is_mature,
        is_resolved,
        is_durably_resolved,
        is_first_contact_resolution,
        is_successful_customer_outcome,
        is_revenue_at_risk,
        cancelled_at,
        has_churned_within_30d,
        has_churned_within_90d,
        is_churn_observed_30d,
        is_churn_observed_90d,
        _built_run

    from issues

)

select *, {{ row_hash() }} as _row_hash from final
