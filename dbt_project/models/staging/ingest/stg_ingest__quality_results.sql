with

source as (

    select * from {{ source('ingest', '_quality_results') }}

),

final as (

    select
        batch_id,
        feed,
        suite,
        expectation,
        expectation_type,
        severity,
        {{ adapter.quote('column') }} as checked_column,
        observed_value,
        element_count,
        unexpected_count,
        passed as is_passed,
        error,
        validated_at,
        cast(validated_at as date) as validated_date

    from source

)

select * from final
