-- Every metric of the semantic layer (dbt_project/models/marts/_marts__semantic_models.yml),
-- by name, per local day: what `mf query --metrics <name> --group-by metric_time__day` answers,
-- for BI tools without MetricFlow. One row per (metric_time__day, metric); run it on the
-- serving copy (DuckDB file, schema marts) or use it as a virtual dataset, and filter on
-- `metric`. Ratios are recomputed from the marts' additive counts, as the semantic layer does;
-- roll up to weeks or months by summing `numerator` and `denominator` and dividing again
-- (the percentiles excepted: query fct_issues at the grain you need).
--
-- Days follow the semantic models' time dimensions: outcomes by the day the issue started,
-- contacts by the day they started, call legs by arrival, tickets by creation.
-- tests/test_bi.py checks that every semantic metric is here and that the values equal the
-- marts' and the daily report's.

with daily as (
    select
        outcome_date as day,
        sum(issues_first_contact_resolved) as issues_first_contact_resolved,
        sum(issues_mature) as issues_mature,
        sum(issues_durably_resolved) as issues_durably_resolved,
        sum(issues_successful_outcome) as issues_successful_outcome,
        sum(issue_contacts) as issue_contacts,
        sum(repeat_contacts) as issue_repeat_contacts,
        sum(mature_issue_contacts) as mature_issue_contacts,
        sum(mature_issue_handoffs) as mature_issue_handoffs,
        sum(identified_contacts) as identified_contacts,
        sum(failure_demand_repeats) as repeat_contacts,
        sum(chaser_messages) as chaser_messages,
        sum(same_reason_repeats_24h) as same_reason_repeats_24h,
        sum(same_reason_repeats_7d) as same_reason_repeats_7d,
        sum(same_reason_repeats_30d) as same_reason_repeats_30d,
        sum(any_reason_repeats_24h) as any_reason_repeats_24h,
        sum(any_reason_repeats_7d) as any_reason_repeats_7d,
        sum(any_reason_repeats_30d) as any_reason_repeats_30d,
        sum(tickets_reopened) as tickets_reopened,
        sum(tickets_solved) as tickets_solved,
        sum(tickets_one_touch) as tickets_one_touch,
        sum(tickets_replied) as tickets_replied,
        sum(first_reply_seconds) as first_reply_seconds,
        sum(handled) as handled,
        sum(handle_seconds) as handle_seconds,
        sum(answer_wait_seconds) as answer_wait_seconds,
        sum(offered) - sum(short_abandons) as offered_less_short_abandons,
        sum(abandoned) as abandoned,
        sum(answered_within_service_level) as answered_within_service_level,
        sum(transferred) as transferred
    from marts.mart_daily_outcomes
    group by outcome_date
),

issues as (
    select
        issue_started_date as day,
        quantile_cont(time_to_resolution_seconds, 0.5) filter (where is_durably_resolved)
            as time_to_resolution_p50,
        quantile_cont(time_to_resolution_seconds, 0.9) filter (where is_durably_resolved)
            as time_to_resolution_p90,
        count(*) filter (where is_churn_observed_30d and is_durably_resolved)
            as resolved_issues_observed_30d,
        count(*) filter (where is_churn_observed_30d and is_durably_resolved
            and has_churned_within_30d) as resolved_issues_churned_30d,
        count(*) filter (where is_churn_observed_30d and is_mature and not is_durably_resolved)
            as unresolved_issues_observed_30d,
        count(*) filter (where is_churn_observed_30d and is_mature and not is_durably_resolved
            and has_churned_within_30d) as unresolved_issues_churned_30d,
        count(*) filter (where is_churn_observed_90d and is_durably_resolved)
            as resolved_issues_observed_90d,
        count(*) filter (where is_churn_observed_90d and is_durably_resolved
            and has_churned_within_90d) as resolved_issues_churned_90d,
        count(*) filter (where is_churn_observed_90d and is_mature and not is_durably_resolved)
            as unresolved_issues_observed_90d,
        count(*) filter (where is_churn_observed_90d and is_mature and not is_durably_resolved
            and has_churned_within_90d) as unresolved_issues_churned_90d
    from marts.fct_issues
    group by issue_started_date
),

costs as (
    select arrived_date as day, sum(handling_cost) as handling_cost
    from marts.fct_call_legs
    group by arrived_date
),

days as (
    select day from daily
    union
    select day from issues
    union
    select day from costs
),

measures as (
    select *
    from days
    left join daily using (day)
    left join issues using (day)
    left join costs using (day)
),

metrics as (
    -- (metric name, numerator, denominator); percentiles have no denominator
    select day, 'fcr_rate' as metric, issues_first_contact_resolved as numerator,
        issues_mature as denominator from measures
    union all select day, 'repeat_contact_rate', issue_repeat_contacts, issue_contacts from measures
    union all select day, 'same_reason_repeat_rate_24h', same_reason_repeats_24h, identified_contacts from measures
    union all select day, 'same_reason_repeat_rate_7d', same_reason_repeats_7d, identified_contacts from measures
    union all select day, 'same_reason_repeat_rate_30d', same_reason_repeats_30d, identified_contacts from measures
    union all select day, 'any_reason_repeat_rate_24h', any_reason_repeats_24h, identified_contacts from measures
    union all select day, 'any_reason_repeat_rate_7d', any_reason_repeats_7d, identified_contacts from measures
    union all select day, 'any_reason_repeat_rate_30d', any_reason_repeats_30d, identified_contacts from measures
    union all select day, 'reopen_rate', tickets_reopened, tickets_solved from measures
    union all select day, 'contacts_per_resolution', mature_issue_contacts, issues_durably_resolved from measures
    union all select day, 'handoffs_per_issue', mature_issue_handoffs, issues_mature from measures
    union all select day, 'failure_demand_share', repeat_contacts + chaser_messages,
        identified_contacts + chaser_messages from measures
    union all select day, 'sco_rate', issues_successful_outcome, issues_mature from measures
    union all select day, 'time_to_resolution_median_seconds', time_to_resolution_p50, null from measures
    union all select day, 'time_to_resolution_p90_seconds', time_to_resolution_p90, null from measures
    union all select day, 'churn_30d_after_unresolved', unresolved_issues_churned_30d,
        unresolved_issues_observed_30d from measures
    union all select day, 'churn_30d_after_resolved', resolved_issues_churned_30d,
        resolved_issues_observed_30d from measures
    union all select day, 'churn_90d_after_unresolved', unresolved_issues_churned_90d,
        unresolved_issues_observed_90d from measures
    union all select day, 'churn_90d_after_resolved', resolved_issues_churned_90d,
        resolved_issues_observed_90d from measures
    union all select day, 'cost_per_resolution', handling_cost, issues_durably_resolved from measures
    union all select day, 'aht_seconds', handle_seconds, handled from measures
    union all select day, 'asa_seconds', answer_wait_seconds, handled from measures
    union all select day, 'abandonment_rate', abandoned, offered_less_short_abandons from measures
    union all select day, 'service_level', answered_within_service_level,
        offered_less_short_abandons from measures
    union all select day, 'transfer_rate', transferred, handled from measures
    union all select day, 'one_touch_resolution_rate', tickets_one_touch, tickets_solved from measures
    union all select day, 'first_reply_time_seconds', first_reply_seconds, tickets_replied from measures
)

select
    day as metric_time__day,
    metric,
    case
        when denominator is null and metric like 'time_to_resolution_%' then numerator
        else cast(numerator as double) / nullif(denominator, 0)
    end as value,
    cast(numerator as double) as numerator,  -- double, not DuckDB's HUGEINT: every BI driver
    cast(denominator as double) as denominator  -- reads it
from metrics
order by metric_time__day, metric
