-- Each identified contact with what it means for the customer's effort and whom it is
-- charged to (metrics.md, "repeat contact rate" and "attribution"):
-- * a repeat is a contact that is not the first of its issue; the windowed variants look back
--   24 h / 7 d / 30 d from the contact's start to the end of the customer's previous contact
--   about the same problem (same stitch key), or about anything (any reason);
-- * a repeat is charged to whoever handled the contact before it in the issue (its agent,
--   the queue it was handled in, the agent's team), and that earlier contact is marked as
--   followed by a repeat: the agent's repeat rate of the AHT trap.
-- Incremental: per customer, like stitching (int_rebuild_customers).

{{ config(
    materialized='incremental',
    incremental_strategy='replace_scope',
    unique_key='contact_id',
    meta={'rebuild_scope': "{{ in_rebuilt_customers('customer_id') }}"},
) }}

-- depends_on: {{ ref('int_rebuild_customers') }}

{% set same_reason %}(partition by customer_id, stitch_key order by started_at, contact_id){% endset %}

with

issue_contacts as (

    select * from {{ ref('int_contacts_stitched_into_issues') }}
    {% if is_incremental() %}
    where {{ in_rebuilt_customers('customer_id') }}
    {% endif %}

),

agents as (

    select * from {{ ref('int_agents_assigned_to_teams') }}

),

neighbours_found as (

    select
        *,
        -- an issue is a run of consecutive contacts of its customer and stitch key (in the
        -- order of contact_seq): its previous and next contacts are theirs in that order, and
        -- every window of this CTE but the last shares one sort
        case
            when lag(issue_id) over {{ same_reason }} = issue_id then lag(contact_id) over {{ same_reason }}
        end as previous_contact_id,
        case
            when lag(issue_id) over {{ same_reason }} = issue_id then lag(handled_by_agent_id) over {{ same_reason }}
        end as previous_agent_id,
        case
            when lag(issue_id) over {{ same_reason }} = issue_id
                then lag(coalesce(handled_in_queue, queue)) over {{ same_reason }}
        end as previous_queue,
        case
            when lead(issue_id) over {{ same_reason }} = issue_id then lead(contact_id) over {{ same_reason }}
        end as next_contact_id,
        max(ended_at) over (
            partition by customer_id, stitch_key
            order by started_at, contact_id
            rows between unbounded preceding and 1 preceding
        ) as previous_same_reason_ended_at,
        max(ended_at) over (
            partition by customer_id
            order by started_at, contact_id
            rows between unbounded preceding and 1 preceding
        ) as previous_any_reason_ended_at

    from issue_contacts

),

gaps_measured as (

    select
        *,
        {{ seconds_between('previous_same_reason_ended_at', 'started_at') }} as same_reason_gap_seconds,
        {{ seconds_between('previous_any_reason_ended_at', 'started_at') }} as any_reason_gap_seconds

    from neighbours_found

),

final as (

    select
        gaps_measured.contact_id,
        gaps_measured.customer_id,
        gaps_measured.issue_id,
        gaps_measured.contact_seq,
        gaps_measured.contact_seq > 1 as is_repeat,
        gaps_measured.next_contact_id is not null as is_followed_by_repeat,
        {% for label, seconds in [('24h', 86400), ('7d', 7 * 86400), ('30d', 30 * 86400)] %}
        coalesce(gaps_measured.same_reason_gap_seconds <= {{ seconds }}, false) as is_same_reason_repeat_{{ label }},
        coalesce(gaps_measured.any_reason_gap_seconds <= {{ seconds }}, false) as is_any_reason_repeat_{{ label }},
        {% endfor %}
        gaps_measured.previous_contact_id,
        -- attribution: the issue's outcome goes to its first contact's handler; a repeat is
        -- charged to whoever handled the contact before it
        gaps_measured.handled_by_agent_id,
        coalesce(gaps_measured.handled_in_queue, gaps_measured.queue) as handled_in_queue,
        handler_agents.team as handled_by_team,
        case when gaps_measured.contact_seq > 1 then gaps_measured.previous_agent_id end as charged_agent_id,
        case when gaps_measured.contact_seq > 1 then gaps_measured.previous_queue end as charged_queue,
        case when gaps_measured.contact_seq > 1 then charged_agents.team end as charged_team,
        {{ built_run() }} as _built_run

    from gaps_measured
    left join agents as handler_agents
        on gaps_measured.handled_by_agent_id = handler_agents.agent_id
    left join agents as charged_agents
        on gaps_measured.previous_agent_id = charged_agents.agent_id

)

select *, {{ row_hash() }} as _row_hash from final
