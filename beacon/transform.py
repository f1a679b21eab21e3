"""Run the dbt project (staging → intermediate → marts) against the warehouse, in-process.

A ``build`` or ``run`` is **incremental** unless it cannot be (docs/metrics.md, "Incremental
builds"): every build is recorded in ``transform.builds`` with the range of ingest runs it
covers. The models read the event days those runs changed (``raw._changed_days``, written by
ingest) and rebuild only what depends on them. A build is a **full refresh** when asked
(``full_refresh=True``, ``--full-refresh``, ``transform.full_refresh`` in the configuration),
when there is no earlier complete build, when the previous build did not build every model
(failed, killed, or a partial selection), or when the dbt project or the metric settings
changed since (their fingerprint is recorded with each build).

dbt's ``dbtRunner`` is not safe to call concurrently in one process; Beacon calls it from one
task at a time (the warehouse pool has a single slot), which also respects DuckDB's single
writer.

With ``transform.engine = "spark"`` (``BEACON_TRANSFORM_ENGINE=spark``; docs/spark.md) the same
models build on Apache Spark instead: the raw layer is exported from the warehouse as Parquet
(:func:`beacon.raw_export.export_raw`), dbt's Spark target (``transform.spark_target``: a
local session, or a cluster's Thrift server) registers it as the ``raw`` sources, and every
build there is a full build (``replace_scope`` needs in-place deletes; ``macros/spark.sql``).
Spark builds are not recorded in ``transform.builds``: that watermark is DuckDB's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from beacon.config import DBT_PROJECT_DIR, BeaconConfig

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

#: the transform's own record of its builds (the watermark of incremental builds)
BUILDS_TABLE = "transform.builds"
_BUILDS_DDL = f"""
CREATE SCHEMA IF NOT EXISTS transform;
CREATE TABLE IF NOT EXISTS {BUILDS_TABLE} (
    build_id     BIGINT PRIMARY KEY,
    command      VARCHAR NOT NULL,
    mode         VARCHAR NOT NULL CHECK (mode IN ('full', 'incremental')),
    reason       VARCHAR NOT NULL,
    since_run    BIGINT,
    upto_run     BIGINT,
    fingerprint  VARCHAR NOT NULL,
    status       VARCHAR NOT NULL CHECK (status IN ('running', 'built', 'partial', 'failed')),
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    rows_written VARCHAR
);
-- a dbt build whose models and tests all passed: the rows it and earlier builds wrote are
-- tested; the data tests of a later incremental build check only rows written since
-- (macros/scoped_tests.sql)
ALTER TABLE {BUILDS_TABLE} ADD COLUMN IF NOT EXISTS tests_passed BOOLEAN;
"""
#: dbt threads of an incremental build when BEACON_DBT_THREADS does not say (a full build:
#: the profile's 1). A day's build is many small models and tests, and a second thread
#: keeps both cores busy: 10 M contacts, 54.3 s with 2 and 58.9 s with 1 (docs/benchmarks.md)
INCREMENTAL_DBT_THREADS = 2
#: commands that write models (and so move the watermark)
_BUILDING_COMMANDS = frozenset({"build", "run"})
#: arguments that build only part of the project: the next build must be a full refresh
_SELECTION_ARGS = frozenset({"--select", "-s", "--models", "-m", "--exclude", "--selector"})
#: incremental tables whose rows carry ``_built_run`` (rows rewritten per build are logged)
INCREMENTAL_TABLES = (
    "intermediate.int_ticket_episodes_split",
    "intermediate.int_customer_versions_built",
    "intermediate.int_contacts_resolved_to_customers",
    "intermediate.int_issues_assessed",
    "marts.fct_call_legs",
    "marts.fct_contacts",
    "marts.fct_tickets",
    "marts.fct_issues",
    "marts.dim_customers",
    "marts.mart_daily_outcomes",
    "marts.mart_agent_weekly",
    "marts.mart_segment_monthly",
    "marts.mart_triple_crown",
)


class TransformError(RuntimeError):
    """dbt failed: a model did not build or a test failed. Marts were not all rebuilt."""


@dataclass(frozen=True)
class BuildPlan:
    """What one ``build``/``run`` does: full or incremental, and over which ingest runs."""

    build_id: int
    mode: str
    reason: str
    since_run: int | None
    upto_run: int | None
    fingerprint: str
    #: an earlier ``dbt build`` of the same project and settings passed every test: its
    #: unit tests (fixed inputs, the models' logic) need not run again
    code_tested: bool = False


@dataclass(frozen=True)
class TransformResult:
    """A dbt command that succeeded (a failure raises TransformError instead)."""

    command: str
    nodes: int
    #: "full" or "incremental" for build/run; None for other commands (test, parse …)
    mode: str | None = None
    build_id: int | None = None
    #: per incremental table: (rows this build wrote, rows in the table)
    rows_written: dict[str, tuple[int, int]] = field(default_factory=dict)


def run_dbt(
    config: BeaconConfig,
    command: str = "build",
    extra_args: Sequence[str] = (),
    work_dir: Path | None = None,
    *,
    full_refresh: bool = False,
    export_raw: bool = True,
) -> TransformResult:
    """Run one dbt command on the configured warehouse and raise TransformError on failure.

    ``build`` and ``run`` are incremental unless a full refresh is asked for (``full_refresh``,
    ``--full-refresh`` in ``extra_args``, ``config.transform.full_refresh``) or needed (module
    docstring). dbt's target and log folders go to ``work_dir`` (default: ``.dbt`` beside the
    warehouse file) so the project folder can be mounted read-only. On Spark the raw layer is
    exported first unless ``export_raw`` is false (it was just exported).
    """
    from dbt.cli.main import dbtRunner  # heavy import; keep it out of module import

    warehouse = config.warehouse_path.resolve()
    spark = config.transform.engine == "spark"
    # per engine: dbt's partial parsing keeps one target's manifest
    work = (work_dir or warehouse.parent / (".dbt-spark" if spark else ".dbt")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    # what profiles.yml and the macros read, set only while dbt runs (_dbt_environment);
    # the memory limit as BEACON_DBT_MEMORY_LIMIT, not BEACON_DUCKDB_MEMORY_LIMIT, which
    # is a setting of BeaconConfig
    env = {"BEACON_WAREHOUSE_PATH": str(warehouse), "BEACON_DBT_MEMORY_LIMIT": config.memory_limit}
    os.environ.setdefault("DO_NOT_TRACK", "1")
    dbt_vars = config.metrics.as_dbt_vars()
    extra = [arg for arg in extra_args if arg != "--full-refresh"]
    plan = None
    if spark:
        spark_env = prepare_spark(config, export=export_raw)
        env.update(spark_env)
        extra += ["--target", spark_env["BEACON_DBT_TARGET"]]
        if command in _BUILDING_COMMANDS or "--full-refresh" in extra_args:
            extra.append("--full-refresh")  # always a full build on Spark (module docstring)
    elif command in _BUILDING_COMMANDS:
        plan = begin_build(
            config,
            command,
            full_refresh=full_refresh or "--full-refresh" in extra_args,
            dbt_vars=dbt_vars,
        )
        if plan.mode == "full":
            extra.append("--full-refresh")
        else:
            if plan.code_tested and command == "build":
                # the same code passed its unit tests in an earlier build; the data tests run
                extra += ["--exclude-resource-type", "unit_test"]
            if not os.environ.get("BEACON_DBT_THREADS") and "--threads" not in extra:
                extra += ["--threads", str(INCREMENTAL_DBT_THREADS)]
    elif "--full-refresh" in extra_args:
        extra.append("--full-refresh")
    if not spark:
        extra += ["--target", "duckdb"]
    args = [
        command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps(dbt_vars),
        *extra,
    ]
    log.info("dbt %s on %s", " ".join([command, *extra]), warehouse)
    if plan is not None:
        env["BEACON_BUILD_ID"] = str(plan.build_id)  # read by macros/incremental.sql
    try:
        with _dbt_environment(env):
            result = dbtRunner().invoke(args)
    finally:
        _release_warehouse()
    failures: list[str] = []
    nodes = 0
    models_ok = result.result is not None and hasattr(result.result, "results")
    if models_ok:
        for node_result in result.result.results:
            nodes += 1
            status = str(node_result.status).lower()
            if status in {"error", "fail", "runtime error"}:
                failures.append(f"{node_result.node.unique_id}: {status}: {node_result.message}")
            if node_result.node.resource_type == "model" and status != "success":
                models_ok = False
    rows_written: dict[str, tuple[int, int]] = {}
    if plan is not None and not spark:
        partial = any(arg.split("=")[0] in _SELECTION_ARGS for arg in extra_args)
        status = "failed" if not models_ok else "partial" if partial else "built"
        tested = command == "build" and status == "built" and result.success and not failures
        rows_written = finish_build(config, plan, status, tests_passed=tested)
    if not result.success:
        if result.exception is not None:
            failures.append(f"dbt {command} raised: {result.exception}")
        elif not failures:
            failures.append(f"dbt {command} failed")
        raise TransformError("; ".join(failures))
    log.info("dbt %s: %d nodes passed", command, nodes)
    return TransformResult(
        command=command,
        nodes=nodes,
        mode=plan.mode if plan else None,
        build_id=plan.build_id if plan else None,
        rows_written=rows_written,
    )


def spark_dirs(config: BeaconConfig) -> tuple[Path, Path]:
    """(raw layer export, local session's table folder) for ``transform.engine = "spark"``."""
    base = config.warehouse_path.resolve().parent / "spark"
    raw = config.transform.spark_raw_dir or base / "raw"
    tables = config.transform.spark_warehouse_dir or base / "warehouse"
    return raw.resolve(), tables.resolve()


@contextmanager
def _dbt_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set the environment variables dbt reads (profiles.yml, the macros) while it runs, and
    put the process's own values back afterwards: several of them are also BeaconConfig's
    settings (``BEACON_WAREHOUSE_PATH``, ``BEACON_SPARK_RAW_DIR`` …), and a configuration
    loaded later in the same process (an Airflow worker, the tests) must not take them from
    an earlier build."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def prepare_spark(config: BeaconConfig, *, export: bool = True) -> dict[str, str]:
    """Export the raw layer for Spark (unless ``export`` is false); return the environment
    that points dbt's Spark target at it (``BEACON_DBT_TARGET`` names the target).

    The export is a snapshot of the warehouse's ``raw`` schema (ingest keeps writing DuckDB);
    the Spark target reads it through ``BEACON_SPARK_RAW_DIR`` (``macros/spark.sql``).
    """
    from beacon.raw_export import export_raw

    raw_dir, tables_dir = spark_dirs(config)
    if export:
        tables = export_raw(config, raw_dir)
        log.info(
            "raw layer exported for Spark to %s: %s",
            raw_dir,
            ", ".join(f"{t.name} {t.rows:,}" for t in tables),
        )
    tables_dir.mkdir(parents=True, exist_ok=True)
    return {
        "BEACON_SPARK_RAW_DIR": str(raw_dir),
        "BEACON_SPARK_WAREHOUSE_DIR": str(tables_dir),
        "BEACON_DBT_TARGET": config.transform.spark_target,
    }


def project_fingerprint(dbt_vars: dict[str, Any]) -> str:
    """A digest of everything that decides what the models compute: the dbt project's
    models, macros and ``dbt_project.yml``, and the vars. A build after a change to any of
    them is a full refresh (incremental tables keep rows computed the old way)."""
    digest = hashlib.sha256(json.dumps(dbt_vars, sort_keys=True, default=str).encode())
    files = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for folder in ("models", "macros"):
        files += sorted(p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(DBT_PROJECT_DIR)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def begin_build(
    config: BeaconConfig,
    command: str = "build",
    *,
    full_refresh: bool = False,
    dbt_vars: dict[str, Any] | None = None,
) -> BuildPlan:
    """Decide full or incremental, and record the build as running (committed before dbt
    starts, so a build killed half-way leaves ``running`` behind and the next is full).
    ``config.transform.full_refresh`` asks for a full refresh like ``full_refresh``."""
    from ingest.changes import latest_run_id
    from ingest.warehouse import connect

    fingerprint = project_fingerprint(
        dbt_vars if dbt_vars is not None else config.metrics.as_dbt_vars()
    )
    con = connect(config.warehouse_path, config=config)
    try:
        con.execute(_BUILDS_DDL)
        last = con.execute(
            f"SELECT status FROM {BUILDS_TABLE} ORDER BY build_id DESC LIMIT 1"
        ).fetchone()
        built = con.execute(
            f"SELECT upto_run, fingerprint FROM {BUILDS_TABLE} WHERE status = 'built' "
            "ORDER BY build_id DESC LIMIT 1"
        ).fetchone()
        if full_refresh or config.transform.full_refresh:
            mode, reason = "full", "full refresh asked for"
        elif built is None:
            mode, reason = "full", "first build"
        elif last[0] != "built":
            mode, reason = "full", f"the previous build is {last[0]}"
        elif built[1] != fingerprint:
            mode, reason = "full", "the dbt project or the metric settings changed"
        else:
            mode, reason = "incremental", "changes since the last build"
        ingested = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw'"
            " AND table_name = '_ingest_runs'"
        ).fetchone()[0]
        upto_run = (latest_run_id(con) if ingested else None) or 0
        since_run = (built[0] or 0) if mode == "incremental" else None
        code_tested = con.execute(
            f"SELECT EXISTS (SELECT 1 FROM {BUILDS_TABLE} WHERE tests_passed "
            "AND fingerprint = $fingerprint)",
            {"fingerprint": fingerprint},
        ).fetchone()[0]
        con.execute("BEGIN")
        con.execute(
            f"UPDATE {BUILDS_TABLE} SET status = 'failed', finished_at = $now "
            "WHERE status = 'running'",
            {"now": _now()},
        )
        build_id = con.execute(
            f"SELECT coalesce(max(build_id), 0) + 1 FROM {BUILDS_TABLE}"
        ).fetchone()[0]
        con.execute(
            f"INSERT INTO {BUILDS_TABLE} (build_id, command, mode, reason, since_run, upto_run, "
            "fingerprint, status, started_at) VALUES ($id, $command, $mode, $reason, $since, "
            "$upto, $fingerprint, 'running', $now)",
            {
                "id": build_id,
                "command": command,
                "mode": mode,
                "reason": reason,
                "since": since_run,
                "upto": upto_run,
                "fingerprint": fingerprint,
                "now": _now(),
            },
        )
        con.execute("COMMIT")
    finally:
        con.close()
    if mode == "incremental":
        log.info(
            "build %d: incremental, %s",
            build_id,
            f"ingest runs {since_run + 1}..{upto_run}"
            if upto_run > since_run
            else "no new ingest run",
        )
    else:
        log.info("build %d: full refresh (%s), ingest runs up to %d", build_id, reason, upto_run)
    return BuildPlan(build_id, mode, reason, since_run, upto_run, fingerprint, code_tested)


def finish_build(
    config: BeaconConfig, plan: BuildPlan, status: str, *, tests_passed: bool = False
) -> dict[str, tuple[int, int]]:
    """Record how the build ended; ``built`` (every model built, whatever the tests said)
    makes it the watermark of the next incremental build, ``tests_passed`` (a ``dbt build``
    whose tests all passed too) the watermark of the next build's data tests. Returns, per
    incremental table, (rows this build wrote, rows in the table)."""
    from ingest.warehouse import connect

    con = connect(config.warehouse_path, config=config)
    try:
        rows = rows_written(con, plan.build_id) if status != "failed" else {}
        con.execute(
            f"UPDATE {BUILDS_TABLE} SET status = $status, finished_at = $now, "
            "rows_written = $rows, tests_passed = $tested WHERE build_id = $id",
            {
                "status": status,
                "now": _now(),
                "rows": json.dumps({k: list(v) for k, v in rows.items()}),
                "tested": tests_passed,
                "id": plan.build_id,
            },
        )
    finally:
        con.close()
    if rows:
        log.info(
            "build %d (%s): %s",
            plan.build_id,
            plan.mode,
            ", ".join(
                f"{name.split('.')[-1]} {written:,} of {total:,} rows written"
                for name, (written, total) in rows.items()
            ),
        )
    return rows


def rows_written(con: duckdb.DuckDBPyConnection, build_id: int) -> dict[str, tuple[int, int]]:
    """Per incremental table: how many of its rows build ``build_id`` wrote, and its size."""
    present = {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "SELECT table_schema, table_name FROM information_schema.columns "
            "WHERE column_name = '_built_run'"
        ).fetchall()
    }
    counts: dict[str, tuple[int, int]] = {}
    for table in INCREMENTAL_TABLES:
        if table in present:
            written, total = con.execute(
                f"SELECT count(*) FILTER (WHERE _built_run = $id), count(*) FROM {table}",
                {"id": build_id},
            ).fetchone()
            counts[table] = (int(written), int(total))
    return counts


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after a run.

    dbt-duckdb caches its database handle at class level (``DuckDBConnectionManager._ENV``);
    left open, it holds DuckDB's file lock, so the next step (ingest, a reader, the next
    task in the same process) cannot open the warehouse. There is no public API for this.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter (e.g. Spark) is in use
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
