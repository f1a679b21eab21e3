-- One row per feed: can today's numbers be trusted? The feed's gate status (degraded from a
-- refused, failed or changed file until a good one arrives), how fresh its data is, and
-- what its latest quality batch said.
with

files as (

    select * from {{ ref('stg_ingest__files') }}

),

feed_status as (

    select * from {{ ref('stg_ingest__feed_status') }}

),

quarantined_rows as (

    select * from {{ ref('stg_ingest__quarantined_rows') }}

),

quality_results as (

    select * from {{ ref('stg_ingest__quality_results') }}

),

files_summarised as (

    select
        feed,
        max(finished_at) filter (where status = 'loaded') as last_loaded_at,
        max(max_event_at) filter (where status = 'loaded') as newest_event_at,
        count(*) filter (where status = 'loaded') as files_loaded,
        count(*) filter (where status in ('failed', 'changed')) as files_failed

    from files
    group by 1

),

open_quarantine as (

    select
        feed,
        count(*) as rows_quarantined_open

    from quarantined_rows
    where not is_replayed
    group by 1

),

latest_batches as (

    select
        feed,
        batch_id,
        validated_at

    from quality_results
    qualify row_number() over (partition by feed order by validated_at desc, batch_id desc) = 1

),

latest_checks as (

    select
        latest_batches.feed,
        latest_batches.batch_id as latest_batch_id,
        latest_batches.validated_at as latest_validated_at,
        count(*) filter (
            where quality_results.severity = 'critical' and not quality_results.is_passed
        ) as latest_critical_checks_failed,
        count(*) filter (
            where quality_results.severity = 'warning' and not quality_results.is_passed
        ) as latest_warning_checks_failed

    from latest_batches
    inner join quality_results
        on latest_batches.feed = quality_results.feed
        and latest_batches.batch_id = quality_results.batch_id
    group by 1, 2, 3

),

feeds as (

    select feed from files_summarised
    union
    select feed from feed_status

),

final as (

    select
        feeds.feed,
        coalesce(feed_status.feed_status, 'ok') as feed_status,
        coalesce(feed_status.is_degraded, false) as is_degraded,
        feed_status.status_since,
        feed_status.status_reason,
        feed_status.status_path,
        files_summarised.last_loaded_at,
        files_summarised.newest_event_at,
        coalesce(files_summarised.files_loaded, 0) as files_loaded,
        coalesce(files_summarised.files_failed, 0) as files_failed,
        coalesce(open_quarantine.rows_quarantined_open, 0) as rows_quarantined_open,
        latest_checks.latest_batch_id,
        latest_checks.latest_validated_at,
        coalesce(latest_checks.latest_critical_checks_failed, 0) as latest_critical_checks_failed,
        coalesce(latest_checks.latest_warning_checks_failed, 0) as latest_warning_checks_failed

    from feeds
    left join feed_status
        on feeds.feed = feed_status.feed
    left join files_summarised
        on feeds.feed = files_summarised.feed
    left join open_quarantine
        on feeds.feed = open_quarantine.feed
    left join latest_checks
        on feeds.feed = latest_checks.feed

)

select * from final
