"""docker-compose.yml stays consistent with the code it deploys (no Docker engine needed)."""

from __future__ import annotations

from pathlib import Path

import yaml

from beacon import airflow_local
from beacon.config import BeaconConfig, _from_env

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_airflow_3_component():
    services = _compose()["services"]
    commands = {name: str(svc.get("command", "")) for name, svc in services.items()}
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert any(f"airflow {component}" in cmd for cmd in commands.values()), component
    assert "airflow db migrate" in commands["airflow-init"]
    assert f"pools set {airflow_local.WAREHOUSE_POOL} 1" in commands["airflow-init"]


def test_compose_beacon_settings_are_understood_by_the_config():
    env = _compose()["services"]["scheduler"]["environment"]
    beacon_env = {
        k: str(v).split(":-")[-1].rstrip("}") for k, v in env.items() if k.startswith("BEACON_")
    }
    understood = _from_env(beacon_env)
    config = BeaconConfig._from_mapping(understood)
    assert str(config.warehouse_path) == beacon_env["BEACON_WAREHOUSE_PATH"]
    assert str(config.landing_dir) == beacon_env["BEACON_LANDING_DIR"]
    # every BEACON_ variable in the file is read by the config (no silently ignored setting)
    consumed = {"BEACON_LANDING_DIR", "BEACON_WAREHOUSE_PATH", "BEACON_REPEAT_WINDOW_DAYS"} | {
        f"BEACON_TZ_{feed.upper()}" for feed in config.feed_timezones
    }
    assert set(beacon_env) <= consumed


def test_compose_mounts_the_dags_the_tests_load():
    env = _compose()["services"]["scheduler"]["environment"]
    volumes = _compose()["services"]["scheduler"]["volumes"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/beacon/dags"
    assert any(v.startswith("./dags:/opt/beacon/dags") for v in volumes)
    assert (ROOT / "dags" / "beacon_pipeline.py").is_file()
