-- One row per issue with its outcome: resolved, durably resolved, first-contact resolved,
-- or still pending maturity (metrics.md); its effort (contacts, hand-offs, chasers, handling
-- cost), time to resolution, successful customer outcome (SCO), the customer's churn after
-- it and the revenue it puts at risk, and whom its outcome is credited to. Outcomes are
-- judged as of var('as_of'), by default the newest call or ticket event in the data, so the
-- same data always gives the same answer.
-- Incremental: a build assesses again the issues of the customers in int_rebuild_customers,
-- and the issues whose as-of-dependent flags (maturity, churn observed 30 / 90 days) the new
-- as-of moment changes: the as-of moment moves with the data, so issues cross those lines
-- every day. The moment itself is in mart_as_of, not on every row.

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='issue_id',
    meta={'rebuild_scope': "{{ in_rebuilt_customers('customer_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_customers') }}

{% set window_seconds = var('repeat_window_days') * 86400 %}

with

horizon as (

    select {{ as_of_timestamp(
        'select greatest((select max(ended_at) from ' ~ ref('stg_calls__legs') ~ '), (select max(occurred_at) from '
        ~ ref('stg_tickets__events') ~ '))'
    ) }} as as_of_at

),

{% if is_incremental() %}
issues_crossing_as_of_lines as (

    -- stored issues whose maturity or churn observation the new as-of moment changes
    select previous.issue_id
    from {{ this }} as previous
    cross join horizon
    where previous.is_mature
            <> ({{ seconds_between('previous.ended_at', 'horizon.as_of_at') }} >= {{ window_seconds }})
        {% for days in [30, 90] %}
        or previous.is_churn_observed_{{ days }}d
            <> ({{ seconds_between('previous.ended_at', 'horizon.as_of_at') }} >= {{ days }} * 86400)
        {% endfor %}

),
{% endif %}

issue_contacts as (

    select * from {{ ref('fct_contacts') }}
    where issue_id is not null
    {% if is_incremental() %}
        and (
            {{ in_rebuilt_customers('customer_id') }}
            or issue_id in (select issue_id from issues_crossing_as_of_lines)
        )
    {% endif %}

),

customer_versions as (

    select * from {{ ref('int_customer_versions_built') }}
    {% if is_incremental() %}
    where customer_id in (select customer_id from issue_contacts)
    {% endif %}

),

crm_events as (

    select * from {{ ref('stg_crm__events') }}
    {% if is_incremental() %}
    where customer_id in (select customer_id from issue_contacts)
    {% endif %}

),

issue_totals as (

    -- one pass over the issue's contacts: its first contact's attributes (and attribution),
    -- its totals, and the outcome of its last contact (the issue's). Performance: the last
    -- contact's outcome is taken in this pass, not by joining the last contacts back
    -- (10 M contacts: 22 -> 13 s)
    select
        issue_id,
        max(case when contact_seq = 1 then customer_id end) as customer_id,
        max(case when contact_seq = 1 then channel end) as first_channel,
        max(case when contact_seq = 1 then queue end) as first_queue,
        max(case when contact_seq = 1 then first_agent_id end) as first_agent_id,
        max(case when contact_seq = 1 then handled_by_agent_id end) as credited_agent_id,
        max(case when contact_seq = 1 then handled_in_queue end) as credited_queue,
        max(case when contact_seq = 1 then handled_by_team end) as credited_team,
        max(case when contact_seq = 1 then started_at end) as first_contact_at,
        -- the issue's reason, its first contact's with one: a contact with a reason of its
        -- own is stitched by it (stitch_key), so all of an issue's reasons are the same
        max(issue_reason) as contact_reason,
        count(*) as contacts,
        count(distinct channel) as channels,
        sum(handoffs) as handoffs,
        sum(chasers) as chasers,
        sum(case when contact_type = 'reopen' then 1 else 0 end) as reopens,
        cast(sum(cast(handle_seconds as decimal(38, 3))) as double) as handle_seconds,
        max(ended_at) as ended_at,
        {{ value_at_max('is_resolved', 'contact_seq') }} as is_resolved,
        {{ value_at_max('resolved_at', 'contact_seq') }} as last_resolved_at

    from issue_contacts
    group by issue_id
    having max(case when contact_seq = 1 then 1 else 0 end) = 1

),

issues as (

    select
        issue_totals.issue_id,
        issue_totals.customer_id,
        issue_totals.contact_reason,
        issue_totals.first_channel,
        issue_totals.first_queue,
        issue_totals.first_agent_id,
        issue_totals.credited_agent_id,
        issue_totals.credited_queue,
        issue_totals.credited_team,
        issue_totals.first_contact_at,
        issue_totals.ended_at,
        issue_totals.contacts,
        issue_totals.channels,
        issue_totals.handoffs,
        issue_totals.chasers,
        issue_totals.reopens,
        issue_totals.handle_seconds,
        issue_totals.is_resolved,
        case when issue_totals.is_resolved then issue_totals.last_resolved_at end as resolved_at,
        {{ seconds_between('issue_totals.ended_at', 'horizon.as_of_at') }} >= {{ window_seconds }} as is_mature,
        {% for days in [30, 90] %}
        {{ seconds_between('issue_totals.ended_at', 'horizon.as_of_at') }} >= {{ days }} * 86400
            as is_churn_observed_{{ days }}d,
        {% endfor %}
        {{ built_run() }} as _built_run

    from issue_totals
    cross join horizon

),

issues_with_customer_attributes as (

    -- the customer as the CRM described them when the issue began
    select
        issues.*,
        customer_versions.segment,
        customer_versions.needs_category,
        customer_versions.region,
        customer_versions.mrr as mrr_at_start

    from issues
    left join customer_versions
        on issues.customer_id = customer_versions.customer_id
        and issues.first_contact_at >= customer_versions.valid_from
        and (customer_versions.valid_to is null or issues.first_contact_at < customer_versions.valid_to)

),

cancellations as (

    select customer_id, occurred_at as cancelled_at
    from crm_events
    where event_type = 'subscription_cancelled'

),

churn_after_issue as (

    -- the first cancellation from the issue's start to 90 days after its last contact
    select
        issues.issue_id,
        min(cancellations.cancelled_at) as cancelled_at

    from issues
    inner join cancellations
        on issues.customer_id = cancellations.customer_id
        and cancellations.cancelled_at >= issues.first_contact_at
        and {{ seconds_between('issues.ended_at', 'cancellations.cancelled_at') }} <= 90 * 86400
    group by issues.issue_id

),

outcomes_judged as (

    select
        issues_with_customer_attributes.*,
        churn_after_issue.cancelled_at,
        is_mature and is_resolved as is_durably_resolved,
        is_mature and is_resolved and contacts = 1 as is_first_contact_resolution,
        case when is_mature then 'mature' else 'pending' end as maturity_status,
        case
            when is_resolved then {{ seconds_between('first_contact_at', 'resolved_at') }}
        end as time_to_resolution_seconds,
        {% for days in [30, 90] %}
        coalesce({{ seconds_between('ended_at', 'churn_after_issue.cancelled_at') }} <= {{ days }} * 86400, false)
            as has_churned_within_{{ days }}d,
        {% endfor %}
        cast(handle_seconds as double) / 3600 * {{ var('cost_per_agent_hour') }} as handling_cost

    from issues_with_customer_attributes
    left join churn_after_issue
        on issues_with_customer_attributes.issue_id = churn_after_issue.issue_id

),

final as (

    select
        *,
        case
            when is_durably_resolved then 'durably_resolved'
            when is_mature then 'failed'
            when is_resolved then 'pending_resolved'
            else 'open'
        end as outcome_status,
        -- open (still unresolved) or failed: the customer's revenue is at risk
        not is_resolved as is_revenue_at_risk,
        is_durably_resolved
            and time_to_resolution_seconds <= {{ var('sco_target_hours') }} * 3600
            and handoffs <= {{ var('sco_max_handoffs') }}
            and not has_churned_within_30d as is_successful_customer_outcome

    from outcomes_judged

)

select *, {{ row_hash() }} as _row_hash from final
