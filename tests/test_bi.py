"""BI-ready: the example Superset dashboard and the metrics-by-name SQL agree with the marts'
contracts, the semantic layer and the daily report (docs/bi.md).

The contract checks need no warehouse: the marts are created empty, typed as their
contracts say, in an in-memory DuckDB, and every metric expression and the metrics SQL must
bind against them. One test then compares values on the session's built centre.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from reporting.bi import superset_export
from reporting.bi.superset_export import BUNDLE, DATASETS, contracts

ROOT = Path(__file__).resolve().parent.parent
METRICS_SQL = ROOT / "reporting" / "bi" / "metrics_daily.sql"
SEMANTIC = ROOT / "dbt_project" / "models" / "marts" / "_marts__semantic_models.yml"
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _bundle(kind: str) -> dict[str, dict]:
    return {p.stem: _load(p) for p in sorted((BUNDLE / kind).rglob("*.yaml"))}


@pytest.fixture(scope="module")
def empty_marts():
    """Every mart as an empty table of its contracted columns and types."""
    con = duckdb.connect()
    con.execute("create schema marts")
    for name, columns in contracts().items():
        body = ", ".join(f'"{c["name"]}" {DUCKDB_TYPES[c["data_type"]]}' for c in columns)
        con.execute(f'create table marts."{name}" ({body})')
    yield con
    con.close()


def _semantic_metrics() -> set[str]:
    return {metric["name"] for metric in _load(SEMANTIC)["metrics"]}


def test_the_datasets_are_the_marts_contracts(empty_marts):
    marts = contracts()
    datasets = _bundle("datasets")
    assert set(datasets) == set(DATASETS)
    for name, dataset in datasets.items():
        assert dataset["table_name"] == name and dataset["schema"] == "marts"
        contracted = {c["name"]: DUCKDB_TYPES[c["data_type"]] for c in marts[name]}
        columns = {c["column_name"]: c["type"] for c in dataset["columns"]}
        # every dataset column is a contracted column of that type (a contract may add more)
        assert {k: contracted.get(k) for k in columns} == columns, name
        if dataset["main_dttm_col"]:
            assert contracted[dataset["main_dttm_col"]] in ("DATE", "TIMESTAMP")
        for metric in dataset["metrics"]:
            # binds against the contracted columns, or raises naming the missing one
            empty_marts.execute(f'select {metric["expression"]} from marts."{name}"')


def _chart_columns(params: dict) -> set[str]:
    columns = set(params.get("all_columns", [])) | set(params.get("groupby", []))
    for key in ("x_axis", "granularity_sqla"):
        if params.get(key):
            columns.add(params[key])
    columns |= {json.loads(order)[0] for order in params.get("order_by_cols", [])}
    columns |= {f["subject"] for f in params.get("adhoc_filters", [])}
    return columns


def test_the_charts_and_the_dashboard_name_only_what_exists():
    datasets = {d["uuid"]: d for d in _bundle("datasets").values()}
    databases = _bundle("databases")
    charts = _bundle("charts")
    (dashboard,) = _bundle("dashboards").values()
    (database,) = databases.values()
    assert {d["database_uuid"] for d in datasets.values()} == {database["uuid"]}
    for name, chart in charts.items():
        dataset = datasets[chart["dataset_uuid"]]
        params = chart["params"]
        assert params["viz_type"] == chart["viz_type"]
        missing = _chart_columns(params) - {c["column_name"] for c in dataset["columns"]}
        assert not missing, (name, missing)
        metrics = [params["metric"]] if "metric" in params else params.get("metrics", [])
        unknown = set(metrics) - {m["metric_name"] for m in dataset["metrics"]}
        assert not unknown, (name, unknown)
    placed = {
        node["meta"]["uuid"]
        for node in dashboard["position"].values()
        if isinstance(node, dict) and node.get("type") == "CHART"
    }
    assert placed == {chart["uuid"] for chart in charts.values()}
    for node_id, node in dashboard["position"].items():
        if isinstance(node, dict) and "children" in node:
            for child in node["children"]:
                assert node_id in dashboard["position"][child].get("parents", [node_id])
    assert _load(BUNDLE / "metadata.yaml")["type"] == "Dashboard"


def test_superset_reads_the_serving_copy_read_only():
    (database,) = _bundle("databases").values()
    assert database["sqlalchemy_uri"] == (
        "duckdb:////data/serving/beacon.duckdb?access_mode=READ_ONLY"
    )
    assert not any(database[k] for k in ("allow_dml", "allow_ctas", "allow_cvas"))
    superset = _load(ROOT / "docker-compose.yml")["services"]["superset"]
    assert superset["profiles"] == ["bi"]
    volumes = [re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", v) for v in superset["volumes"]]
    mounts = {v.split(":")[1]: v.split(":")[2:] for v in volumes}
    assert mounts["/data/serving"] == ["ro"]  # the folder the URI names, read-only
    assert mounts["/opt/beacon-bi"] == ["ro"]
    assert superset["command"][-1] == "/opt/beacon-bi/start.sh"
    start = (BUNDLE.parent / "start.sh").read_text()
    assert "superset import-dashboards" in start and BUNDLE.name in start


def test_every_semantic_metric_is_queryable_by_name(empty_marts):
    sql = METRICS_SQL.read_text()
    named = set(re.findall(r"select day, '([a-z0-9_]+)'", sql))
    assert named == _semantic_metrics()
    cursor = empty_marts.execute(sql)
    assert [d[0] for d in cursor.description] == [
        "metric_time__day",
        "metric",
        "value",
        "numerator",
        "denominator",
    ]
    # the Superset metrics that share a name with a semantic metric mean the same thing
    shared = {
        m["metric_name"] for d in _bundle("datasets").values() for m in d["metrics"]
    } & _semantic_metrics()
    assert {"fcr_rate", "repeat_contact_rate", "sco_rate", "aht_seconds", "service_level"} <= shared


@pytest.mark.slow
def test_metrics_by_name_superset_and_the_report_agree(truth_warehouse):
    """On the built centre: the metrics SQL, the Superset metrics and the daily report give
    the same numbers for a day."""
    from reporting.report import read_figures

    day = date(2026, 10, 21)
    figures = read_figures(truth_warehouse, day)
    report = {
        "fcr_rate": figures.metric("fcr").day,
        "repeat_contact_rate": figures.metric("repeat_rate").day,
        "sco_rate": figures.metric("sco_rate").day,
        "time_to_resolution_median_seconds": figures.metric("ttr_median").day,
        "aht_seconds": figures.metric("aht").day,
        "asa_seconds": figures.metric("asa").day,
        "service_level": figures.metric("service_level").day,
        "abandonment_rate": figures.metric("abandonment").day,
    }
    daily_metrics = {
        m["metric_name"]: m["expression"]
        for m in _load(superset_export.dataset_path("mart_daily_outcomes"))["metrics"]
    }
    with duckdb.connect(str(truth_warehouse), read_only=True) as con:
        by_name = dict(
            con.execute(
                f"select metric, value from ({METRICS_SQL.read_text()}) "
                "where metric_time__day = $day",
                {"day": day},
            ).fetchall()
        )
        for name, value in report.items():
            assert by_name[name] == pytest.approx(value, rel=1e-9), name
            if name in daily_metrics:
                superset = con.execute(
                    f"select {daily_metrics[name]} from marts.mart_daily_outcomes "
                    "where outcome_date = $day",
                    {"day": day},
                ).fetchone()[0]
                assert superset == pytest.approx(value, rel=1e-9), name
