-- Customer resolution (metrics.md): the customer_id on the record when present, else the
-- one CRM customer whose phone number (calls) or email (tickets) matched at the time of the
-- contact. A value shared by several customers at that moment identifies nobody.

with

contacts as (

    select * from {{ ref('int_contacts_unioned') }}

),

customer_versions as (

    select * from {{ ref('int_customer_versions_built') }}

),

phone_matches as (

    select
        contacts.contact_id,
        min(customer_versions.customer_id) as customer_id,
        count(distinct customer_versions.customer_id) as candidates

    from contacts
    inner join customer_versions
        on contacts.phone_number = customer_versions.phone_number
        and contacts.started_at >= customer_versions.valid_from
        and (customer_versions.valid_to is null or contacts.started_at < customer_versions.valid_to)
    where contacts.customer_id is null
    group by contacts.contact_id

),

email_matches as (

    select
        contacts.contact_id,
        min(customer_versions.customer_id) as customer_id,
        count(distinct customer_versions.customer_id) as candidates

    from contacts
    inner join customer_versions
        on contacts.requester_email = customer_versions.email
        and contacts.started_at >= customer_versions.valid_from
        and (customer_versions.valid_to is null or contacts.started_at < customer_versions.valid_to)
    where contacts.customer_id is null
    group by contacts.contact_id

),

final as (

    select
        contacts.*,
        case
            when contacts.customer_id is not null then contacts.customer_id
            when phone_matches.candidates = 1 then phone_matches.customer_id
            when email_matches.candidates = 1 then email_matches.customer_id
        end as resolved_customer_id,
        case
            when contacts.customer_id is not null then 'customer_id'
            when phone_matches.candidates = 1 then 'phone_number'
            when email_matches.candidates = 1 then 'email'
        end as identified_by

    from contacts
    left join phone_matches
        on contacts.contact_id = phone_matches.contact_id
    left join email_matches
        on contacts.contact_id = email_matches.contact_id

)

select * from final
