-- The customers whose contacts an incremental build stitches into issues again (stitching is
-- per customer, so the customer is the unit of rebuild; docs/metrics.md, "Incremental
-- builds"): those with a changed CRM event, those a contact in scope resolved to before this
-- build or resolves to now, those with a contact about a changed ticket, and those with a
-- contact handled by an agent whose team changed (attribution names the team).
-- Empty on a full refresh or a build that rebuilds everything.

-- depends_on: {{ ref('int_rebuild_scope') }}
-- depends_on: {{ ref('int_contacts_resolved_to_customers') }}
-- depends_on: {{ ref('int_agents_assigned_to_teams') }}

{% set build = current_build() %}
{% set active = execute and not flags.FULL_REFRESH and not build['everything'] %}

{% if not active %}

select cast(null as {{ dbt.type_string() }}) as customer_id where false

{% else %}

with

contacts as (

    select * from {{ ref('int_contacts_resolved_to_customers') }}
    where resolved_customer_id is not null

),

agents as (

    select * from {{ ref('int_agents_assigned_to_teams') }}

),

final as (

    select key_value as customer_id
    from {{ ref('int_rebuild_scope') }}
    where key_type in ('crm_customer', 'customer_before')

    union

    select resolved_customer_id as customer_id
    from contacts
    where {{ is_built_now() }}
        or {{ in_rebuild_scope('ticket', 'ticket_id') }}
        or handled_by_agent_id in (select agent_id from agents where is_team_changed)

)

select * from final

{% endif %}
