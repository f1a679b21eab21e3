-- One row per expectation per validated batch: every quality-gate outcome, for the trust
-- panel and for anyone asking "which check failed, when, on what".
with

quality_results as (

    select * from {{ ref('stg_ingest__quality_results') }}

),

final as (

    select
        batch_id,
        feed,
        suite,
        expectation,
        expectation_type,
        severity,
        checked_column,
        observed_value,
        element_count,
        unexpected_count,
        is_passed,
        error,
        validated_at,
        validated_date

    from quality_results

)

select * from final
