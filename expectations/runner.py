"""Validate one batch (a DuckDB table) with its feed's suite, inside DuckDB.

GX runs on its SQL execution engine (SQLAlchemy + duckdb-engine), so every expectation is
pushed down to DuckDB as SQL; nothing is pulled into pandas. For each failed critical
row-level expectation GX is asked for its ``unexpected_index_query`` (the SQL selecting the
failing rows, keyed by the contract key) instead of Python lists of values (10 M rows:
2.1 s vs 24.5 s, ``shared/product/stack-notes.md``); the runner runs those queries in
DuckDB to get the failing keys.

Every outcome is appended to ``raw._quality_results``; GX Data Docs (HTML) can be written
per run. See ``docs/quality.md``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expectations import calls, common, crm, tickets
from expectations.common import CRITICAL, WARNING, QualitySettings
from expectations.gx_duckdb import duckdb_url, ephemeral_context
from ingest.contracts import contract_for
from ingest.sql import ident

if TYPE_CHECKING:
    import duckdb
    from great_expectations import ExpectationSuite

    from beacon.config import BeaconConfig

logger = logging.getLogger(__name__)

#: the module that states each feed's particular checks (timestamp order, extra checks)
FEED_SUITES = {"calls": calls, "tickets": tickets, "crm": crm}
RESULTS_TABLE = '"raw"."_quality_results"'
_RESULTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} (
    batch_id         VARCHAR,
    feed             VARCHAR NOT NULL,
    suite            VARCHAR NOT NULL,
    expectation      VARCHAR NOT NULL,
    expectation_type VARCHAR NOT NULL,
    severity         VARCHAR NOT NULL CHECK (severity IN ('critical', 'warning')),
    "column"         VARCHAR,
    observed_value   VARCHAR,
    element_count    BIGINT,
    unexpected_count BIGINT,
    failing_keys     BIGINT,
    passed           BOOLEAN NOT NULL,
    error            VARCHAR,
    validated_at     TIMESTAMP NOT NULL
)
"""
#: GX's answer per expectation: counts and the SQL of the failing rows, not the rows
_RESULT_FORMAT_BASE = {
    "result_format": "SUMMARY",
    "return_unexpected_index_query": True,
    "partial_unexpected_count": 0,
}


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result on one batch."""

    feed: str
    suite: str
    expectation: str  # the stable name from meta, e.g. ``in_set:direction``
    expectation_type: str  # GX's, e.g. ``expect_column_values_to_be_in_set``
    severity: str
    column: str | None
    observed_value: Any
    element_count: int | None
    unexpected_count: int | None
    passed: bool
    #: the contract keys of the failing rows (failed critical row-level expectations only)
    failing_keys: tuple[str, ...] | None = None
    error: str | None = None


@dataclass
class BatchValidation:
    feed: str
    suite: str
    batch_id: str | None
    table: str
    validated_at: datetime
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    data_docs: Path | None = None

    @property
    def passed(self) -> bool:
        """No critical expectation failed (warnings never fail a batch)."""
        return not self.critical_failures

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.severity == CRITICAL and not o.passed]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        """Failed warning expectations."""
        return [o for o in self.outcomes if o.severity == WARNING and not o.passed]

    @property
    def failing_keys(self) -> dict[str, tuple[str, ...]]:
        """Failing keys by expectation name (critical row-level failures)."""
        return {o.expectation: o.failing_keys for o in self.outcomes if o.failing_keys}

    def summary(self) -> str:
        label = f"{self.feed} batch {self.batch_id}" if self.batch_id else f"{self.feed}"
        parts = [f"{len(self.outcomes)} checks"]
        if self.critical_failures:
            parts.append(
                "critical failed: "
                + ", ".join(
                    f"{o.expectation} ({o.unexpected_count:,} rows)"
                    if o.unexpected_count
                    else o.expectation
                    for o in self.critical_failures
                )
            )
        if self.warnings:
            parts.append("warnings: " + ", ".join(o.expectation for o in self.warnings))
        verdict = "passed" if self.passed else "FAILED"
        return f"{label}: quality {verdict}; " + "; ".join(parts)


def build_suite(
    feed: str,
    *,
    now: datetime | None = None,
    settings: QualitySettings | None = None,
    accepted_values: Mapping[str, tuple[str, ...]] | None = None,
    has_history: bool = False,
    unique_within: str | None = None,
    has_crm: bool = False,
    index_column: str | None = None,
) -> ExpectationSuite:
    """The suite of ``feed`` (``now`` naive UTC, default the current time).

    ``has_history``: ``raw.<feed>`` exists, so the checks against history (volume, null
    drift, redeliveries, tickets' created event) can use it; ``has_crm``: ``raw.crm``
    exists (unknown customers). ``unique_within``: keys need only be unique within each
    value of this column. ``index_column``: the column row-level SQL checks return
    (default: the contract key).
    """
    common.ensure_gx()
    contract_for(feed)  # clear error for an unknown feed
    feed_module = FEED_SUITES[feed]
    inputs = common.inputs(
        feed,
        settings,
        accepted_values,
        now or _utcnow(),
        has_history,
        unique_within,
        has_crm=has_crm,
        row_id=index_column,
    )
    return common.feed_suite(inputs, feed_module.TIMESTAMP_ORDER, feed_module.extra_checks(inputs))


def validate_batch(
    warehouse: os.PathLike[str] | str | duckdb.DuckDBPyConnection,
    feed: str,
    table: str,
    *,
    batch_id: str | int | None = None,
    config: BeaconConfig | None = None,
    settings: QualitySettings | None = None,
    now: datetime | None = None,
    persist: bool = True,
    data_docs_dir: os.PathLike[str] | str | bool | None = None,
    catalog: str | None = None,
    index_column: str | None = None,
    unique_within: str | None = None,
) -> BatchValidation:
    """Validate table ``table`` (DuckDB's ``main`` schema) of ``warehouse`` as a ``feed`` batch.

    ``warehouse`` is the DuckDB file's path, or an open connection to it (e.g. ingest's):
    GX then works on cursors of that connection, which see what it has committed (not an
    open transaction). Without a connection the file is opened through duckdb-engine and
    closed before returning; DuckDB refuses that while this process holds the file with a
    different configuration, so pass the connection in that case.

    ``config`` supplies ``accepted_values`` and, unless ``settings`` are given, the
    thresholds (``config.quality``; without either, the defaults); ``now`` (naive UTC,
    default: the current time) is the reference for "in the future". With ``persist``
    every outcome is appended to ``raw._quality_results``; with ``data_docs_dir`` GX Data
    Docs are written there (``True``: :func:`default_data_docs_dir`, beside the warehouse
    file). A docs folder shows one run: GX rebuilds its index from the ephemeral context's
    results.

    The table must live in ``main``: GX 1.24's column-type reflection queries it without
    its schema. With a connection, ``catalog`` names an attached database whose ``main``
    holds the table (ingest's gate stages batches in an in-memory one): GX's cursors find
    it by its plain name through the search path, while ``raw`` stays the warehouse's.

    ``index_column`` identifies failing rows (default: the contract key);
    ``unique_within``: keys need only be unique within each value of that column.
    """
    import sqlalchemy as sa

    ident(table)  # a plain name only
    validated_at = (now or _utcnow()).replace(tzinfo=None)
    accepted = config.accepted_values if config is not None else None
    if settings is None:
        settings = QualitySettings.from_config(config)
    key = index_column or contract_for(feed).key
    url, engine_kwargs = _engine_args(warehouse, catalog)
    engine = sa.create_engine(url, **engine_kwargs)
    datasource = None
    try:
        suite = build_suite(
            feed,
            now=validated_at,
            settings=settings,
            accepted_values=accepted,
            has_history=_table_exists(engine, "raw", feed),
            unique_within=unique_within,
            has_crm=_table_exists(engine, "raw", "crm"),
            index_column=index_column,
        )
        result_format = {**_RESULT_FORMAT_BASE, "unexpected_index_column_names": [key]}
        context = ephemeral_context()
        datasource = context.data_sources.add_sql(
            "warehouse", connection_string=url, kwargs=engine_kwargs
        )
        asset = datasource.add_table_asset(table, table_name=table)
        batch_definition = asset.add_batch_definition_whole_table("batch")
        suite = context.suites.add(suite)
        docs_path: Path | None = None
        if data_docs_dir is True:
            if not isinstance(warehouse, str | os.PathLike):
                raise ValueError("data_docs_dir=True needs the warehouse path; pass a folder")
            data_docs_dir = default_data_docs_dir(warehouse, feed, batch_id, validated_at)
        if data_docs_dir is None or data_docs_dir is False:
            result = batch_definition.get_batch().validate(suite, result_format=result_format)
        else:
            result, docs_path = _validate_with_docs(
                context, batch_definition, suite, result_format, Path(data_docs_dir), feed
            )
        validation = BatchValidation(
            feed=feed,
            suite=suite.name,
            batch_id=None if batch_id is None else str(batch_id),
            table=table,
            validated_at=validated_at,
            data_docs=docs_path,
        )
        with engine.connect() as conn:
            for r in result.results:
                validation.outcomes.append(_outcome(conn, feed, suite.name, key, r, table))
        if persist:
            _persist(engine, validation)
    finally:
        engine.dispose()
        if datasource is not None:
            # with a caller's connection GX only holds cursors of it, which close with it
            _close(datasource, collect=isinstance(warehouse, str | os.PathLike))
    logger.log(logging.INFO if validation.passed else logging.WARNING, "%s", validation.summary())
    return validation


def default_data_docs_dir(
    warehouse: os.PathLike[str] | str,
    feed: str,
    batch_id: str | int | None,
    validated_at: datetime,
) -> Path:
    """``<warehouse dir>/quality/data_docs/<feed>/<batch id or run time>/``."""
    label = str(batch_id) if batch_id is not None else validated_at.strftime("%Y%m%dT%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label).lstrip(".")
    return Path(warehouse).parent / "quality" / "data_docs" / feed / safe


def _engine_args(
    warehouse: os.PathLike[str] | str | duckdb.DuckDBPyConnection,
    catalog: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """SQLAlchemy URL and engine arguments for a DuckDB path or an open connection."""
    import duckdb

    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        from duckdb_engine import ConnectionWrapper

        connection = warehouse
        search_path = None
        if catalog is not None:
            home = connection.execute("SELECT current_database()").fetchall()[0][0]
            search_path = f"{ident(home)}.main,{ident(catalog)}.main"

        def creator() -> Any:
            # each SQLAlchemy connection is a cursor (its own DuckDB connection, same database)
            cursor = connection.cursor()
            if search_path is not None:
                cursor.execute("SET search_path = $path", {"path": search_path})
            return ConnectionWrapper(cursor)

        return "duckdb://", {"creator": creator}
    if catalog is not None:
        raise ValueError("catalog needs an open connection (an attached database)")
    return duckdb_url(warehouse), {}


def _table_exists(engine: Any, schema: str, table: str) -> bool:
    import sqlalchemy as sa

    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT 1 FROM information_schema.tables WHERE table_catalog = "
                "current_database() AND table_schema = :schema AND table_name = :table"
            ),
            {"schema": schema, "table": table},
        ).fetchall()
    return bool(rows)


def _close(datasource: Any, collect: bool = True) -> None:
    """Release every DuckDB connection GX opened, so the file is free for other configs.

    DuckDB refuses a second connection to a file with a different configuration while one
    is open in the process (duckdb-engine's differs from a plain ``duckdb.connect``). Some
    stay referenced by GX's objects until a garbage collection (``collect``: ≈ 0.13 s, so
    skipped when GX worked on cursors of the caller's connection, which close with it).
    """
    import gc

    datasource.get_execution_engine().close()
    if datasource._engine is not None:  # created only if GX asked for it
        datasource._engine.dispose()
    if collect:
        gc.collect()


def _outcome(conn: Any, feed: str, suite: str, key: str, r: Any, table: str) -> ExpectationOutcome:
    cfg = r.expectation_config
    meta = cfg.meta or {}
    res = r.result or {}
    error = _error(r.exception_info)
    severity = meta["severity"]
    kwargs = cfg.kwargs
    column = kwargs.get("column") or (
        f"{kwargs['column_A']},{kwargs['column_B']}" if "column_A" in kwargs else None
    )
    observed = res.get("observed_value")
    if observed is None and res.get("unexpected_percent") is not None:
        observed = f"{res['unexpected_percent']:.4g}% unexpected"
    keys = None
    unexpected_count = res.get("unexpected_count")
    query = res.get("unexpected_index_query")
    rows_query = kwargs.get("unexpected_rows_query")
    if isinstance(rows_query, str) and meta.get("key_column") and error is None:
        unexpected_count = observed  # a row-level SQL check returns one row per failing row
    if severity == CRITICAL and not r.success and isinstance(query, str) and error is None:
        keys = _failing_keys(conn, query, key, kwargs)
    elif isinstance(rows_query, str) and not r.success and error is None:
        sql = rows_query.format(batch=ident(table))
        if meta.get("key_column"):
            # its query returns the failing rows' identifiers in that column
            if severity == CRITICAL:
                keys = _rows_keys(conn, sql, meta["key_column"])
        else:
            # a threshold check: how many rows its query returned, and the first of them
            # (what crossed the threshold: the share, the drifting fields, stale tickets …)
            observed = {"rows": observed, "sample": _sample_rows(conn, sql)}
    return ExpectationOutcome(
        feed=feed,
        suite=suite,
        expectation=meta["name"],
        expectation_type=cfg.type,
        severity=severity,
        column=column,
        observed_value=observed if error is None else error,
        element_count=res.get("element_count"),
        unexpected_count=unexpected_count,
        passed=bool(r.success),
        failing_keys=keys,
        error=error,
    )


def _error(info: Any) -> str | None:
    """GX's exception message, from either of its shapes (flat, or keyed by metric)."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    messages = [
        str(v.get("exception_message"))
        for v in info.values()
        if isinstance(v, Mapping) and v.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def _failing_keys(conn: Any, query: str, key: str, kwargs: Mapping[str, Any]) -> tuple[str, ...]:
    """Run GX's ``unexpected_index_query`` in DuckDB; the distinct keys, sorted.

    GX 1.24's index query for column pairs drops ``ignore_row_if="either_value_is_missing"``
    (it also lists rows where one of the two is NULL), so that condition is re-applied.
    """
    import sqlalchemy as sa

    where = ""
    if "column_A" in kwargs and kwargs.get("ignore_row_if") == "either_value_is_missing":
        where = (
            f" WHERE u.{ident(kwargs['column_A'])} IS NOT NULL"
            f" AND u.{ident(kwargs['column_B'])} IS NOT NULL"
        )
    sql = (
        f"SELECT DISTINCT u.{ident(key)} FROM ({query.strip().rstrip(';')}) AS u{where} ORDER BY 1"
    )
    return tuple(str(row[0]) for row in conn.execute(sa.text(sql)).fetchall())


def _rows_keys(conn: Any, sql: str, column: str) -> tuple[str, ...]:
    """The distinct values of ``column`` that a row-level SQL check returned, sorted."""
    text = f"SELECT DISTINCT u.{ident(column)} FROM ({sql}) AS u ORDER BY 1"
    return tuple(str(row[0]) for row in conn.exec_driver_sql(text).fetchall())


#: rows of a failed threshold check kept as its observed value
SAMPLE_ROWS = 20


def _sample_rows(conn: Any, sql: str) -> list[dict[str, Any]]:
    """The first rows a failed threshold check returned (JSON-ready), e.g. the share."""
    result = conn.exec_driver_sql(f"SELECT * FROM ({sql}) AS u LIMIT {SAMPLE_ROWS}")
    names = list(result.keys())
    return [
        {
            n: v if v is None or isinstance(v, int | float | str | bool) else str(v)
            for n, v in zip(names, row, strict=True)
        }
        for row in result.fetchall()
    ]


def ensure_results_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``raw._quality_results`` if missing (ingest does so up front, so that the
    table, and the dbt models over it, exist even before the first validation)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(_RESULTS_DDL)


def _persist(engine: Any, validation: BatchValidation) -> None:
    import sqlalchemy as sa

    rows = [
        {
            "batch_id": validation.batch_id,
            "feed": o.feed,
            "suite": o.suite,
            "expectation": o.expectation,
            "expectation_type": o.expectation_type,
            "severity": o.severity,
            "column": o.column,
            "observed_value": _text(o.observed_value),
            "element_count": o.element_count,
            "unexpected_count": o.unexpected_count,
            "failing_keys": None if o.failing_keys is None else len(o.failing_keys),
            "passed": o.passed,
            "error": o.error,
            "validated_at": validation.validated_at,
        }
        for o in validation.outcomes
    ]
    names = list(rows[0]) if rows else []
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS raw")
        conn.exec_driver_sql(_RESULTS_DDL)
        if rows:
            conn.execute(
                sa.text(
                    f"INSERT INTO {RESULTS_TABLE} ({', '.join(ident(n) for n in names)}) "
                    f"VALUES ({', '.join(':' + n for n in names)})"
                ),
                rows,
            )


def _validate_with_docs(
    context: Any,
    batch_definition: Any,
    suite: Any,
    result_format: dict[str, Any],
    docs_dir: Path,
    feed: str,
) -> tuple[Any, Path]:
    """Validate through a checkpoint that renders GX Data Docs into ``docs_dir``."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction

    site = "beacon_quality"
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        site_name=site,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{feed}_batch", data=batch_definition, suite=suite)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{feed}_quality",
            validation_definitions=[definition],
            actions=[UpdateDataDocsAction(name="docs", site_names=[site])],
            result_format=result_format,
        )
    )
    run = checkpoint.run()
    (result,) = run.run_results.values()
    return result, docs_dir / "index.html"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


__all__ = [
    "RESULTS_TABLE",
    "BatchValidation",
    "ExpectationOutcome",
    "build_suite",
    "default_data_docs_dir",
    "ensure_results_table",
    "validate_batch",
]
