-- Contacts, tickets and issues in mart_daily_outcomes add up to their facts.

with

daily as (

    select * from {{ ref('mart_daily_outcomes') }}

),

totals as (

    select
        sum(contacts) as contacts,
        sum(identified_contacts) as identified_contacts,
        sum(tickets_created) as tickets_created,
        sum(issues_started) as issues_started,
        sum(issue_contacts) as issue_contacts,
        sum(issues_mature) as issues_mature

    from daily

),

facts as (

    select
        (select count(*) from {{ ref('fct_contacts') }}) as contacts,
        (select count(*) from {{ ref('fct_contacts') }} where is_identified) as identified_contacts,
        (select count(*) from {{ ref('fct_tickets') }}) as tickets_created,
        (select count(*) from {{ ref('fct_issues') }}) as issues_started,
        (select sum(contacts) from {{ ref('fct_issues') }}) as issue_contacts,
        (select count(*) from {{ ref('fct_issues') }} where is_mature) as issues_mature

),

final as (

    {% set measures = ['contacts', 'identified_contacts', 'tickets_created', 'issues_started',
        'issue_contacts', 'issues_mature'] %}
    {% for measure in measures %}
    select '{{ measure }}' as measure, facts.{{ measure }} as in_facts, totals.{{ measure }} as in_mart
    from facts cross join totals
    where coalesce(facts.{{ measure }}, 0) <> coalesce(totals.{{ measure }}, 0)
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
