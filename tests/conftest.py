"""Shared fixtures. Airflow reads its configuration when first imported, so the test
environment is set here, before any test module can import it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="beacon-airflow-"))
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_PROJECT_ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
os.environ["DO_NOT_TRACK"] = "1"
for _var in [v for v in os.environ if v.startswith("BEACON_")]:
    del os.environ[_var]

import dataclasses  # noqa: E402
from datetime import date  # noqa: E402

import pytest  # noqa: E402

from beacon.config import BeaconConfig  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Simulated:
    """A simulated centre on disk: its landing zone, ground truth and simulation settings."""

    root: Path
    landing_dir: Path
    truth_dir: Path
    result: object

    def config(self, warehouse: Path, **overrides) -> BeaconConfig:
        return BeaconConfig.load(
            landing_dir=self.landing_dir, warehouse_path=warehouse, **overrides
        )


def simulate_centre(root: Path, **settings) -> Simulated:
    from beacon.simulator import SimulationConfig, simulate

    defaults = {
        "seed": 7,
        "start_date": date(2026, 10, 1),
        "days": 21,
        "contacts_per_day": 400,
        "agents": 20,
    }
    result = simulate(SimulationConfig(out_dir=root, **{**defaults, **settings}))
    return Simulated(
        root=root, landing_dir=result.landing_dir, truth_dir=result.truth_dir, result=result
    )


@pytest.fixture(scope="session")
def truth_centre(tmp_path_factory) -> Simulated:
    """Clean data, big enough for metric comparisons against the ground truth."""
    return simulate_centre(
        tmp_path_factory.mktemp("truth-centre"), seed=11, days=35, contacts_per_day=1500, agents=40
    )


@pytest.fixture(scope="session")
def truth_warehouse(truth_centre, tmp_path_factory) -> Path:
    """truth_centre ingested and built with dbt (no Airflow: the DAG tests cover that path)."""
    from beacon.pipeline import build_marts
    from ingest import ingest_landing

    warehouse = tmp_path_factory.mktemp("truth-warehouse") / "beacon.duckdb"
    config = truth_centre.config(warehouse)
    report = ingest_landing(config)
    assert report.ok, [f.error for f in report.files if f.error]
    build_marts(config)
    return warehouse
