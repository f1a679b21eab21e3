-- Rows in = rows out: every contact of an identified customer is in exactly one issue, and
-- unidentified contacts in none (they are counted in outputs, left out of outcomes).

with

contacts as (

    select * from {{ ref('fct_contacts') }}

),

issue_members as (

    select contact_id, count(*) as memberships
    from {{ ref('int_contacts_stitched_into_issues') }}
    group by contact_id

),

issues as (

    select * from {{ ref('fct_issues') }}

),

final as (

    select contacts.contact_id, 'identified contact without exactly one issue' as problem
    from contacts
    left join issue_members
        on contacts.contact_id = issue_members.contact_id
    where contacts.is_identified
        and (contacts.issue_id is null or coalesce(issue_members.memberships, 0) <> 1)

    union all

    select contacts.contact_id, 'unidentified contact in an issue' as problem
    from contacts
    where not contacts.is_identified and contacts.issue_id is not null

    union all

    select contacts.contact_id, 'issue missing from fct_issues' as problem
    from contacts
    left join issues
        on contacts.issue_id = issues.issue_id
    where contacts.issue_id is not null and issues.issue_id is null

)

select * from final
