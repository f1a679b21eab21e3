"""docker-compose.yml stays consistent with the code it deploys (no Docker engine needed).

There is no Docker engine (nor the compose plugin) on the development machines, so the file
is validated here: its structure, that every Beacon setting in it is one the configuration
reads, that its volumes hold the paths those settings name, and that its commands are the
Airflow 3 components. tests/test_airflow_scheduler.py then starts those very commands with
this very environment (SQLite and local folders replacing Postgres and the volumes).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from beacon import airflow_local
from beacon.config import BeaconConfig, _from_env

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_SERVICES = ("airflow-init", "api-server", "scheduler", "dag-processor", "triggerer")
#: the keys of a compose service this file may use (a typo would be ignored by nobody)
SERVICE_KEYS = {
    "build",
    "image",
    "user",
    "environment",
    "volumes",
    "depends_on",
    "command",
    "ports",
    "healthcheck",
    "restart",
    "profiles",  # optional services (the superset BI service, profile "bi")
}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _default(value: object) -> str:
    """``${VAR:-default}`` → ``default``; anything else as written."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(value))


def test_compose_file_is_well_formed():
    compose = _compose()
    services = compose["services"]
    named_volumes = set(compose["volumes"])
    for name, service in services.items():
        assert set(service) <= SERVICE_KEYS, (name, set(service) - SERVICE_KEYS)
        assert "image" in service, name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
            assert dependency != name
        for volume in service.get("volumes", []):
            source = _default(volume).split(":")[0]
            assert source.startswith((".", "/")) or source in named_volumes, (name, volume)
        for port in service.get("ports", []):
            assert re.fullmatch(r"\d+:\d+", _default(port)), port
        if "healthcheck" in service:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    for name in AIRFLOW_SERVICES:
        assert services[name]["image"] == "beacon:local" and services[name]["build"] == "."
    # the services wait for the metadata database and for the migration
    assert services["scheduler"]["depends_on"]["airflow-init"] == {
        "condition": "service_completed_successfully"
    }
    assert services["airflow-init"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_compose_runs_every_airflow_3_component():
    services = _compose()["services"]
    commands = {name: str(svc.get("command", "")) for name, svc in services.items()}
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert commands[component] == f"airflow {component}"
    assert "airflow db migrate" in commands["airflow-init"]
    assert f"pools set {airflow_local.WAREHOUSE_POOL} 1" in commands["airflow-init"]
    env = services["scheduler"]["environment"]
    assert _default(env["AIRFLOW__CORE__EXECUTOR"]) == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "False"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"
    # every Airflow service runs with the same settings
    for name in AIRFLOW_SERVICES:
        assert services[name]["environment"] == env, name


def test_compose_beacon_settings_are_understood_by_the_config():
    env = _compose()["services"]["scheduler"]["environment"]
    beacon_env = {k: _default(v) for k, v in env.items() if k.startswith("BEACON_")}
    # every BEACON_ variable in the file is read by the config (no silently ignored setting)
    for key, value in beacon_env.items():
        assert _from_env({key: value or "x"}), f"{key} is not a Beacon setting"
    config = BeaconConfig._from_mapping(_from_env(beacon_env))
    assert str(config.warehouse_path) == beacon_env["BEACON_WAREHOUSE_PATH"]
    assert str(config.landing_dir) == beacon_env["BEACON_LANDING_DIR"]
    assert str(config.serving_path) == beacon_env["BEACON_SERVING_DIR"]
    assert config.alert_webhook_url is None and config.alert_email is None  # off by default


def test_compose_volumes_hold_the_configured_paths():
    services = _compose()["services"]
    env = services["scheduler"]["environment"]
    for name in ("scheduler", "triggerer", "dag-processor", "api-server"):
        targets = {_default(v).split(":")[1] for v in services[name]["volumes"]}
        assert "/opt/beacon" in targets  # the project, mounted
        assert env["BEACON_LANDING_DIR"] in targets  # the triggerer watches it
        assert str(Path(env["BEACON_WAREHOUSE_PATH"]).parent) in targets
        assert env["BEACON_SERVING_DIR"] in targets
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/beacon/dags"
    assert any(v.startswith(".:/opt/beacon") for v in services["scheduler"]["volumes"])
    assert (ROOT / "dags" / "beacon_pipeline.py").is_file()
    # the scheduler's preload (deploy/airflow_local_settings.py) is on the path
    assert env["PYTHONPATH"] == "/opt/beacon/deploy"
    assert (ROOT / "deploy" / "airflow_local_settings.py").is_file()


def test_the_preload_stays_out_of_every_process_but_the_scheduler():
    """(The scheduler's preload itself runs in tests/test_airflow_scheduler.py.)"""
    import subprocess
    import sys

    code = (
        "import sys; sys.argv = ['airflow', 'triggerer']; import airflow_local_settings; "
        "print(sorted({'great_expectations', 'dbt', 'duckdb'} & set(sys.modules)))"
    )
    env = {"PYTHONPATH": str(ROOT / "deploy"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_dockerfile_installs_the_locked_project_with_the_deploy_extra():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "uv sync --frozen --no-dev --extra deploy" in dockerfile
    assert "AIRFLOW_HOME=/opt/airflow" in dockerfile
    # the data folders behind the volumes exist and belong to the services' user
    for folder in ("/data/landing", "/data/warehouse", "/data/serving", "/opt/airflow/logs"):
        assert folder in dockerfile
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'deploy = \["psycopg2-binary', pyproject)


def test_compose_has_an_optional_celery_profile():
    """Scaling Airflow (docs/spark.md): redis and a Celery worker, only with --profile celery,
    the worker the same image and settings as every Airflow service, and the executor a
    switch of the shared environment (LocalExecutor unless AIRFLOW_EXECUTOR says otherwise)."""
    services = _compose()["services"]
    optional = {name for name, svc in services.items() if "celery" in svc.get("profiles", [])}
    assert optional == {"redis", "airflow-worker"}
    for name in AIRFLOW_SERVICES:  # the default deployment does not need them
        assert "profiles" not in services[name]
        assert not {"redis", "airflow-worker"} & set(services[name].get("depends_on", {}))
    worker = services["airflow-worker"]
    assert worker["image"] == "beacon:local" and worker["build"] == "."
    assert str(worker["command"]) == "airflow celery worker"
    assert worker["environment"] == services["scheduler"]["environment"]
    assert worker["volumes"] == services["scheduler"]["volumes"]  # the warehouse, the landing
    assert worker["depends_on"]["redis"] == {"condition": "service_healthy"}
    assert worker["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
    env = worker["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert _default(env["AIRFLOW__CELERY__RESULT_BACKEND"]).startswith("db+postgresql://")
    # the executor the profile names exists in the Celery provider the image installs
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--extra celery" in dockerfile
    assert re.search(
        r'celery = \["apache-airflow-providers-celery==', (ROOT / "pyproject.toml").read_text()
    )
    assert "apache-airflow-providers-celery" in (ROOT / "uv.lock").read_text()


def test_compose_engine_switch_is_a_setting_the_config_reads():
    env = _compose()["services"]["scheduler"]["environment"]
    values = {k: _default(env[k]) for k in ("BEACON_TRANSFORM_ENGINE", "BEACON_SPARK_TARGET")}
    config = BeaconConfig._from_mapping(_from_env(values))
    assert config.transform.engine == "duckdb"  # DuckDB unless switched
    spark = BeaconConfig._from_mapping(_from_env({**values, "BEACON_TRANSFORM_ENGINE": "spark"}))
    assert spark.transform.engine == "spark"
    assert (
        spark.transform.spark_target
        in yaml.safe_load((ROOT / "dbt_project" / "profiles.yml").read_text())["beacon"]["outputs"]
    )
