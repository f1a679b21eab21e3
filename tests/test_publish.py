"""Safe publishing: only a tested build reaches the serving copy, atomically, and readers
of the serving copy neither block the pipeline nor ever see a half-built version."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from beacon import publish
from beacon.config import DBT_PROJECT_DIR, BeaconConfig
from beacon.pipeline import build_marts, publish_marts
from tests.conftest import simulate_centre

# --- the mechanics, on a hand-made warehouse (no dbt) ------------------------------------


def _warehouse(path: Path, marts: dict[str, int], degraded: str | None = None) -> BeaconConfig:
    """A warehouse with ``marts.<name>`` tables of the given sizes and a feed status."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS raw")
        for name, rows in marts.items():
            con.execute(
                f"CREATE OR REPLACE TABLE marts.{name} AS SELECT range AS id FROM range({rows})"
            )
        con.execute(
            "CREATE OR REPLACE TABLE raw._feed_status (feed VARCHAR PRIMARY KEY, status VARCHAR,"
            " since TIMESTAMP, reason VARCHAR, path VARCHAR, updated_at TIMESTAMP)"
        )
        for feed in ("calls", "crm", "tickets"):
            status = "degraded" if feed == degraded else "ok"
            con.execute(
                "INSERT INTO raw._feed_status VALUES (?, ?, now(), ?, NULL, now())",
                [feed, status, "refused" if status != "ok" else None],
            )
    return BeaconConfig.load(warehouse_path=path, landing_dir=path.parent / "landing")


def _built(config: BeaconConfig) -> None:
    with publish.building(config, run="test"):
        pass


def test_publish_copies_every_mart_with_metadata_and_swaps_the_version_atomically(tmp_path):
    config = _warehouse(tmp_path / "wh" / "beacon.duckdb", {"mart_a": 5, "fct_b": 3})
    _built(config)
    first = publish.publish(config, source_run="run-1")
    serving = config.serving_path
    assert serving == tmp_path / "wh" / "serving"
    assert first.marts == {"fct_b": 3, "mart_a": 5}

    with duckdb.connect(str(serving / "beacon.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.mart_a").fetchone() == (5,)
        assert con.execute(
            "select mart, row_count, source_run, degraded_feeds from _published order by mart"
        ).fetchall() == [("fct_b", 3, "run-1", []), ("mart_a", 5, "run-1", [])]
        assert con.execute("select count(*) from _feed_status").fetchone() == (3,)
    # a connection of its own: the module's default one may hold another test's result
    with duckdb.connect() as con:
        for name, rows in first.marts.items():
            parquet = serving / "parquet" / f"{name}.parquet"
            assert con.execute(f"select count(*) from '{parquet}'").fetchall() == [(rows,)]

    # a mart added by a later dbt model is discovered, a degraded feed is published too
    config = _warehouse(config.warehouse_path, {"mart_a": 6, "fct_b": 3, "dim_new": 2}, "calls")
    _built(config)
    second = publish.publish(config)
    assert second.version > first.version
    assert os.readlink(serving / "current") == f"versions/{second.version}"
    assert second.marts["dim_new"] == 2 and second.degraded_feeds == ["calls"]
    meta = publish.published_metadata(config)
    assert meta["version"] == second.version and meta["feed_status"]["calls"] == "degraded"
    # the previous version is still complete on disk for readers that hold it
    with duckdb.connect(str(first.path / "beacon.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.mart_a").fetchone() == (5,)

    # retention: the newest serving_keep_versions versions stay, older ones go
    for _ in range(3):
        publish.publish(config)
    versions = sorted(p.name for p in (serving / "versions").iterdir())
    assert len(versions) == config.serving_keep_versions == 3
    assert first.version not in versions
    assert publish.current_version(serving) == versions[-1]
    assert not list(serving.glob(".*.tmp")) and not list(serving.glob("versions/*.partial"))


def test_only_a_successful_build_is_published(tmp_path):
    config = _warehouse(tmp_path / "beacon.duckdb", {"mart_a": 1})
    with pytest.raises(publish.PublishRefused, match="none recorded"):
        publish.publish(config)

    with pytest.raises(RuntimeError), publish.building(config, run="r"):
        raise RuntimeError("a dbt test failed")
    assert publish.last_build(config)["status"] == "failed"
    with pytest.raises(publish.PublishRefused, match="failed"):
        publish.publish(config)

    with publish.building(config, command="run"):  # models rebuilt, tests not run
        pass
    with pytest.raises(publish.PublishRefused, match="untested"):
        publish.publish(config)

    with publish.building(config, command="test"):  # the marts now in place passed
        pass
    assert publish.publish(config).marts == {"mart_a": 1}


def test_an_interrupted_publish_leaves_the_current_version_and_is_cleaned_up(tmp_path, monkeypatch):
    config = _warehouse(tmp_path / "beacon.duckdb", {"mart_a": 2})
    _built(config)
    good = publish.publish(config)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(publish, "_swap_current", crash)
    with pytest.raises(OSError, match="disk full"):
        publish.publish(config)
    monkeypatch.undo()
    assert publish.current_version(config.serving_path) == good.version
    assert sorted(p.name for p in (config.serving_path / "versions").iterdir()) == [good.version]


# --- with the real dbt project: readers during a build, and a failing dbt test -------------

READER = r"""
import json, os, sys, time
import duckdb

serving, stop, out = sys.argv[1:4]
reads, errors, held, held_version = [], [], None, None
while not os.path.exists(stop):
    try:
        # resolve `current` once, then read the database and the Parquet of that version
        version_dir = os.path.realpath(os.path.join(serving, "current"))
        path = os.path.join(version_dir, "beacon.duckdb")
        with duckdb.connect(path, read_only=True) as con:
            published = dict(con.execute("select mart, row_count from _published").fetchall())
            version = con.execute("select any_value(version) from _published").fetchone()[0]
            tables = {t for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()}
            if tables != set(published):
                errors.append(f"{version}: tables {sorted(tables)} != {sorted(published)}")
            for mart, rows in published.items():
                in_db = con.execute(f'select count(*) from marts."{mart}"').fetchone()[0]
                parquet = os.path.join(version_dir, "parquet", mart + ".parquet")
                sql = "select count(*) from read_parquet(?)"
                in_parquet = con.execute(sql, [parquet]).fetchone()[0]
                if not in_db == in_parquet == rows:
                    errors.append(f"{version}.{mart}: {in_db} / {in_parquet} / {rows}")
        reads.append([time.time(), version])
        if held is None:  # one reader keeps a connection open the whole time
            held, held_version = duckdb.connect(path, read_only=True), version
    except Exception as exc:
        errors.append(repr(exc))
    time.sleep(0.05)
held_rows = held.execute("select count(*) from _published").fetchone()[0] if held else None
json.dump({"reads": reads, "errors": errors, "held_version": held_version,
           "held_rows": held_rows}, open(out, "w"))
"""


@pytest.fixture(scope="module")
def published_centre(tmp_path_factory):
    """A small centre whose last day is held back, ingested, built, published once."""
    from ingest import ingest_landing

    root = tmp_path_factory.mktemp("publish")
    centre = simulate_centre(root / "centre", days=6, contacts_per_day=100, agents=6)
    held = root / "held"
    for feed_dir in centre.landing_dir.iterdir():
        last = sorted(feed_dir.rglob("*.*"))[-1]
        target = held / last.relative_to(centre.landing_dir)
        target.parent.mkdir(parents=True)
        last.rename(target)
    config = centre.config(root / "wh" / "beacon.duckdb")
    assert ingest_landing(config).ok
    build_marts(config)
    publish_marts(config, run="first")
    return config, held


def test_readers_see_whole_versions_during_a_build_and_never_block_publishing(
    published_centre, tmp_path
):
    from ingest import ingest_landing

    config, held = published_centre
    serving = config.serving_path
    before = publish.current_version(serving)
    stop, out = tmp_path / "stop", tmp_path / "reads.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(serving), str(stop), str(out)])
    try:
        time.sleep(1.0)
        for path in held.rglob("*.*"):  # the held-back day lands
            target = config.landing_dir / path.relative_to(held)
            shutil.copy2(path, target)
        assert ingest_landing(config).ok
        build_started = time.time()
        build_marts(config)
        build_finished = time.time()
        published = publish.publish(config, source_run="second")
        publish_seconds = time.time() - build_finished
        time.sleep(1.0)
    finally:
        stop.touch()
        reader.wait(timeout=60)
    result = json.loads(out.read_text())
    assert result["errors"] == []
    versions = [version for _, version in result["reads"]]
    assert versions[0] == before and versions[-1] == published.version != before
    assert set(versions) == {before, published.version}
    during_build = [t for t, _ in result["reads"] if build_started <= t <= build_finished]
    assert len(during_build) >= 5, "the serving copy was not readable while dbt was building"
    # a reader still holding the first version neither blocked the publish nor lost its data
    assert result["held_version"] == before and result["held_rows"] > 0
    assert publish_seconds < 30
    with duckdb.connect(str(serving / "beacon.duckdb"), read_only=True) as con:
        assert con.execute("select sum(row_count) from _published").fetchone()[0] > 0


def test_a_failing_dbt_test_publishes_nothing(published_centre, tmp_path, monkeypatch):
    """Issue #4: a build whose dbt test fails leaves the serving copy as it was, through the
    DAG (publish_marts never runs) and by hand (``beacon publish`` refuses)."""
    from beacon import airflow_local
    from beacon.cli import main

    source, _ = published_centre
    warehouse = tmp_path / "wh" / "beacon.duckdb"
    shutil.copytree(
        source.warehouse_path.parent,
        warehouse.parent,
        symlinks=True,
        ignore=shutil.ignore_patterns(".dbt"),
    )
    config = BeaconConfig.load(warehouse_path=warehouse, landing_dir=source.landing_dir)
    serving = config.serving_path
    before = publish.current_version(serving)
    versions = sorted((serving / "versions").iterdir())
    assert before is not None

    # the project as it is, plus one data test that fails
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "tests" / "assert_publish_guard_fails.sql").write_text("select 1 as failure\n")
    monkeypatch.setattr("beacon.transform.DBT_PROJECT_DIR", project)

    conf = {"warehouse_path": str(warehouse), "landing_dir": str(config.landing_dir)}
    assert airflow_local.run_dag("beacon_transform", conf=conf) == "failed"
    assert publish.last_build(config)["status"] == "failed"
    assert "assert_publish_guard_fails" in publish.last_build(config)["error"]
    assert publish.current_version(serving) == before
    assert sorted((serving / "versions").iterdir()) == versions

    assert main(["publish", "--warehouse", str(warehouse)]) == 1
    assert publish.current_version(serving) == before
