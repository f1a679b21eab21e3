"""Issue #9: the same dbt project builds on Apache Spark with marts identical to DuckDB's.

A small simulated centre (a non-UTC centre whose week crosses the end of summer time, so
local days, weeks and business hours are exercised) is ingested into DuckDB and built there;
then its raw layer is exported as Parquet (``beacon export-raw``) and the same models are built
on a local Spark session (dbt-spark, ``method: session``) through ``beacon.transform`` with
``transform.engine = "spark"``: models, unit tests and reconciliation tests, which must all
pass. Every
mart (every model under ``models/marts``) is then compared row by row: the same columns in the
same order, the same rows. Floating-point columns are compared with a relative tolerance of
1e-9 (an average or a quotient can differ in its last bits when the engines add in another
order); everything else must be equal.

Needs the ``spark`` extra (``uv sync --extra spark``; ``make test`` installs it) and Java 17.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from datetime import UTC, date, datetime

import duckdb
import pytest
import yaml

from beacon.config import DBT_PROJECT_DIR
from tests.conftest import simulate_centre

pytestmark = [pytest.mark.slow, pytest.mark.spark]

#: columns that record the build, not the data: `_built_run` is the id of the DuckDB build
#: that last wrote a row (transform.builds); a Spark build is not recorded there (always 0).
#: `_row_hash` is what an incremental DuckDB build compares rows by; null on Spark (always
#: a full build)
BOOKKEEPING = ("_built_run", "_row_hash")

SETTINGS = {
    "centre_timezone": "Europe/London",
    "business_hours_start": "09:00",
    "business_hours_end": "17:30",
    "business_days": [1, 2, 3, 4, 5],
}


def _marts() -> list[str]:
    """Every model under models/marts (outcome and quality marts), from their YAML."""
    names = []
    for spec in sorted((DBT_PROJECT_DIR / "models/marts").rglob("_*__models.yml")):
        names += [model["name"] for model in yaml.safe_load(spec.read_text())["models"]]
    sql = {p.stem for p in (DBT_PROJECT_DIR / "models/marts").rglob("*.sql")}
    assert set(names) == sql, "every mart model is documented"
    return sorted(names)


def _require_spark() -> None:
    try:
        import pyspark  # noqa: F401
        from dbt.adapters import spark  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the CI installs the extra
        pytest.fail(f"the spark extra is not installed ({exc}): uv sync --extra spark")
    if shutil.which("java") is None:  # pragma: no cover
        pytest.fail("Spark needs Java (17) on the PATH")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(DuckDB warehouse, Spark's marts folder) of the same centre built on both engines."""
    _require_spark()
    from beacon.transform import run_dbt, spark_dirs
    from ingest import ingest_landing

    root = tmp_path_factory.mktemp("spark-parity")
    centre = simulate_centre(
        root / "centre",
        seed=23,
        start_date=date(2026, 10, 20),
        days=8,
        contacts_per_day=90,
        agents=6,
    )
    warehouse = root / "wh" / "beacon.duckdb"
    config = centre.config(warehouse, metrics=SETTINGS)
    assert ingest_landing(config).ok
    assert run_dbt(config, "build", full_refresh=True).mode == "full"

    spark_config = centre.config(warehouse, metrics=SETTINGS, transform={"engine": "spark"})
    try:
        # models, unit tests and the singular (reconciliation) tests; the generic column
        # tests are left to the DuckDB build to keep this test short: the comparison below
        # checks every mart's rows, which those tests only sample
        result = run_dbt(spark_config, "build", ["--exclude", "test_type:generic"])
    finally:
        _stop_spark()
    assert result.nodes > 0
    raw_dir, tables_dir = spark_dirs(spark_config)
    return warehouse, raw_dir, tables_dir / "marts.db"


def _stop_spark() -> None:
    """Stop the session dbt-spark started in this process, and its JVM."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    process = getattr(gateway, "proc", None)
    if process is not None:  # the JVM PySpark started: it exits when its stdin closes
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=30)
    SparkContext._gateway = None
    SparkContext._jvm = None


def _rows(
    con: duckdb.DuckDBPyConnection, relation: str, leave_out: tuple[str, ...] = ()
) -> tuple[list[str], list[str], list]:
    described = con.execute(f"describe select * from {relation}").fetchall()
    kept = ", ".join(f'"{row[0]}"' for row in described if row[0] not in leave_out)
    cursor = con.execute(f"select {kept} from {relation}")
    columns = [d[0] for d in cursor.description]
    types = [str(d[1]) for d in cursor.description]
    return columns, types, cursor.fetchall()


def _normalise(value):
    # Spark writes timestamps as instants; DuckDB's are the UTC wall-clock values
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _sort_key(row: tuple, floats: list[bool]) -> tuple:
    # exact columns first, then floats rounded: the order cannot depend on a last bit
    exact = tuple(
        (v is None, "" if v is None else v) for v, f in zip(row, floats, strict=True) if not f
    )
    rounded = tuple(
        (v is None, 0 if v is None else round(v, 6)) for v, f in zip(row, floats, strict=True) if f
    )
    return exact + rounded


def _same(a, b, is_float: bool) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if is_float:
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_the_raw_layer_is_exported_as_parquet_partitioned_by_feed_and_day(built):
    warehouse, raw_dir, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for feed, event in (("calls", "arrived_at"), ("tickets", "occurred_at")):
            days = {
                row[0].isoformat()
                for row in con.execute(
                    f"select distinct cast({event} as date) from raw.{feed}"
                ).fetchall()
            }
            folders = {p.name.removeprefix("day=") for p in (raw_dir / feed).glob("day=*")}
            assert folders == days, feed
            (count,) = con.execute(f"select count(*) from raw.{feed}").fetchone()
            (exported,) = con.execute(
                f"select count(*) from read_parquet('{raw_dir / feed}/*/*.parquet')"
            ).fetchone()
            assert exported == count > 0, feed
        feeds = {p.name for p in (raw_dir / "files").glob("feed=*")}
        assert feeds == {"feed=calls", "feed=tickets", "feed=crm"}


def test_every_mart_is_identical_on_spark_and_duckdb(built):
    warehouse, _, spark_marts = built
    marts = _marts()
    assert len(marts) >= 15
    differences: dict[str, str] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for mart in marts:
            folder = spark_marts / mart
            assert any(folder.glob("*.parquet")), f"Spark built no {mart}"
            columns, types, duck = _rows(con, f"marts.{mart}", BOOKKEEPING)
            spark_columns, _, spark = _rows(con, f"read_parquet('{folder}/*.parquet')", BOOKKEEPING)
            if spark_columns != columns:
                differences[mart] = f"columns differ: {columns} vs {spark_columns}"
                continue
            assert duck, f"{mart} is empty on DuckDB: the comparison would prove nothing"
            if len(duck) != len(spark):
                differences[mart] = f"{len(duck)} rows on DuckDB, {len(spark)} on Spark"
                continue
            floats = [t in ("DOUBLE", "FLOAT") for t in types]
            spark = [tuple(_normalise(v) for v in row) for row in spark]
            duck = sorted(duck, key=lambda row: _sort_key(row, floats))
            spark = sorted(spark, key=lambda row: _sort_key(row, floats))
            for duck_row, spark_row in zip(duck, spark, strict=True):
                unequal = [
                    f"{name}: {a!r} vs {b!r}"
                    for name, a, b, f in zip(columns, duck_row, spark_row, floats, strict=True)
                    if not _same(a, b, f)
                ]
                if unequal:
                    differences[mart] = "first differing row: " + "; ".join(unequal[:5])
                    break
    assert not differences, "\n".join(f"{m}: {d}" for m, d in differences.items())


def test_export_raw_on_the_command_line_writes_every_raw_table(built, tmp_path, capsys):
    from beacon.cli import main

    warehouse, _, _ = built
    assert main(["export-raw", "--warehouse", str(warehouse), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name, estimated_size from duckdb_tables() where schema_name = 'raw'"
        ).fetchall()
        for table, _ in tables:
            folder = tmp_path / table.lstrip("_")
            assert any(folder.rglob("*.parquet")), table
            (rows,) = con.execute(f'select count(*) from raw."{table}"').fetchone()
            assert f"raw.{table}: {rows:,} rows" in printed
    manifest = json.loads((tmp_path / "_export.json").read_text())
    assert set(manifest["tables"]) == {t for t, _ in tables}
    assert manifest["tables"]["calls"]["partitions"] == ["day"]


def test_the_engine_is_a_setting(monkeypatch):
    from beacon.config import BeaconConfig

    monkeypatch.setenv("BEACON_TRANSFORM_ENGINE", "spark")
    monkeypatch.setenv("BEACON_SPARK_RAW_DIR", "/lake/raw")
    config = BeaconConfig.load(config_file=None)
    assert config.transform.engine == "spark"
    assert str(config.transform.spark_raw_dir) == "/lake/raw"
    assert config.transform.spark_target == "spark"
    monkeypatch.setenv("BEACON_TRANSFORM_ENGINE", "postgres")
    with pytest.raises(ValueError, match="transform.engine"):
        BeaconConfig.load(config_file=None)


def test_the_test_command_installs_the_spark_extra():
    """CI runs `make test` on a clean clone: it must install the extra this module needs."""
    makefile = (DBT_PROJECT_DIR.parent / "Makefile").read_text()
    target = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "setup-spark" in target.splitlines()[0]
    assert "run --frozen --extra spark pytest" in target
    assert "$(UV) sync --frozen --extra spark" in makefile
    pyproject = (DBT_PROJECT_DIR.parent / "pyproject.toml").read_text()
    assert 'spark = ["dbt-spark[session]==1.11.0", "pyspark==4.3.0"]' in pyproject


def test_marts_built_on_spark_are_not_published_from_duckdb(tmp_path):
    from beacon.config import BeaconConfig
    from beacon.pipeline import publish_marts
    from beacon.publish import PublishRefused

    config = BeaconConfig.load(
        warehouse_path=tmp_path / "beacon.duckdb", transform={"engine": "spark"}
    )
    with pytest.raises(PublishRefused, match="built on spark"):
        publish_marts(config)
