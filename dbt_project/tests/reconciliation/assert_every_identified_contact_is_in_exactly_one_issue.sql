-- Rows in = rows out: every contact of an identified customer is in exactly one issue, and
-- unidentified contacts in none (they are counted in outputs, left out of outcomes).
-- "At most one" is the `unique` test on fct_contacts.contact_id; this test checks "at least
-- one", from the contacts as resolved (fct_contacts stitches the identified contacts it
-- reads, so it cannot show one that is missing).
-- Anti joins, not `not exists` and not a count per contact: at 10 M contacts they take half
-- the time (docs/benchmarks.md); DuckDB and Spark both read `anti join`.

with

resolved_contacts as (

    select * from {{ ref('int_contacts_resolved_to_customers') }}

),

contacts as (

    select * from {{ ref('fct_contacts') }}

),

issue_members as (

    select * from {{ ref('fct_contacts') }}
    where issue_id is not null

),

issues as (

    select * from {{ ref('fct_issues') }}

),

final as (

    select resolved_contacts.contact_id, 'identified contact in no issue' as problem
    from resolved_contacts
    anti join issue_members
        on resolved_contacts.contact_id = issue_members.contact_id
    where resolved_contacts.resolved_customer_id is not null

    union all

    select contacts.contact_id, 'issue_id set but not identified, or identified without one' as problem
    from contacts
    where contacts.is_identified = (contacts.issue_id is null)

    union all

    select contacts.contact_id, 'issue missing from fct_issues' as problem
    from contacts
    anti join issues
        on contacts.issue_id = issues.issue_id
    where contacts.issue_id is not null

)

select * from final
