-- Per ingest day and feed: what arrived and what happened to it (loaded, deduplicated,
-- quarantined by the contract or the quality gate, refused), and how the gates went.
with

files as (

    select * from {{ ref('stg_ingest__files') }}

),

gate_files as (

    select * from {{ ref('stg_ingest__gate_files') }}

),

quarantined_rows as (

    select * from {{ ref('stg_ingest__quarantined_rows') }}

),

quality_results as (

    select * from {{ ref('stg_ingest__quality_results') }}

),

files_summarised as (

    select
        files.ingested_date,
        files.feed,
        count(*) filter (where files.status = 'loaded' and not coalesce(gate_files.is_refused, false))
            as files_loaded,
        count(*) filter (where gate_files.is_refused) as files_refused,
        count(*) filter (where files.status in ('failed', 'changed')) as files_failed,
        cast(coalesce(sum(files.rows_read), 0) as bigint) as rows_read,
        cast(coalesce(sum(files.rows_inserted), 0) as bigint) as rows_inserted,
        cast(coalesce(sum(files.rows_updated), 0) as bigint) as rows_updated,
        cast(coalesce(sum(files.rows_duplicate), 0) as bigint) as rows_duplicate,
        cast(coalesce(sum(files.rows_quarantined), 0) as bigint) as rows_quarantined,
        max(files.max_event_at) as newest_event_at

    from files
    left join gate_files
        on files.file_id = gate_files.file_id
    group by 1, 2

),

quarantine_summarised as (

    select
        cast(quarantined_at as date) as ingested_date,
        feed,
        count(*) filter (where caught_by = 'contract') as rows_quarantined_by_contract,
        count(*) filter (where caught_by = 'quality_gate') as rows_quarantined_by_quality_gate,
        count(*) filter (where caught_by = 'refused_file') as rows_in_refused_files

    from quarantined_rows
    group by 1, 2

),

checks_summarised as (

    select
        validated_date as ingested_date,
        feed,
        count(distinct batch_id) as batches_validated,
        count(*) filter (where severity = 'critical' and not is_passed) as critical_checks_failed,
        count(*) filter (where severity = 'warning' and not is_passed) as warning_checks_failed

    from quality_results
    group by 1, 2

),

days_and_feeds as (

    select ingested_date, feed from files_summarised
    union
    select ingested_date, feed from checks_summarised

),

final as (

    select
        days_and_feeds.ingested_date,
        days_and_feeds.feed,
        coalesce(files_summarised.files_loaded, 0) as files_loaded,
        coalesce(files_summarised.files_refused, 0) as files_refused,
        coalesce(files_summarised.files_failed, 0) as files_failed,
        coalesce(files_summarised.rows_read, 0) as rows_read,
        coalesce(files_summarised.rows_inserted, 0) as rows_inserted,
        coalesce(files_summarised.rows_updated, 0) as rows_updated,
        coalesce(files_summarised.rows_duplicate, 0) as rows_duplicate,
        coalesce(files_summarised.rows_quarantined, 0) as rows_quarantined,
        coalesce(quarantine_summarised.rows_quarantined_by_contract, 0)
            as rows_quarantined_by_contract,
        coalesce(quarantine_summarised.rows_quarantined_by_quality_gate, 0)
            as rows_quarantined_by_quality_gate,
        coalesce(quarantine_summarised.rows_in_refused_files, 0) as rows_in_refused_files,
        coalesce(checks_summarised.batches_validated, 0) as batches_validated,
        coalesce(checks_summarised.critical_checks_failed, 0) as critical_checks_failed,
        coalesce(checks_summarised.warning_checks_failed, 0) as warning_checks_failed,
        files_summarised.newest_event_at

    from days_and_feeds
    left join files_summarised
        on days_and_feeds.ingested_date = files_summarised.ingested_date
        and days_and_feeds.feed = files_summarised.feed
    left join quarantine_summarised
        on days_and_feeds.ingested_date = quarantine_summarised.ingested_date
        and days_and_feeds.feed = quarantine_summarised.feed
    left join checks_summarised
        on days_and_feeds.ingested_date = checks_summarised.ingested_date
        and days_and_feeds.feed = checks_summarised.feed

)

select * from final
