"""``simulate()``: build the population, run the centre day by day, write the landing zone
and the ground truth, and report what was written."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ingest.contracts import FEEDS

from .catalog import NEEDS, PLANS, REGIONS, SEGMENTS
from .clock import DAY, epoch, iso
from .config import SimulationConfig
from .engine import Simulation
from .landing import FeedCounts, Landing
from .population import CHURN_REASONS, Agents, Customers, make_agents
from .truth import TruthWriter

SIMULATOR_VERSION = "1"


@dataclass(frozen=True)
class SimulationResult:
    """What a run wrote. ``counts`` per feed: data records (faulty rows and redelivered
    copies included) and files (late files included)."""

    landing_dir: Path
    truth_dir: Path
    counts: dict[str, FeedCounts]
    contacts: int
    issues: int
    faults: int
    customers: int
    horizon: datetime


def simulate(
    config: SimulationConfig, progress: Callable[[int, int], None] | None = None
) -> SimulationResult:
    """Simulate the centre described by ``config`` into ``config.out_dir``.

    ``landing/`` and ``truth/`` are replaced if they exist. ``progress(days_done, days)`` is
    called after each simulated day is written.
    """
    out_dir = config.out_dir
    landing_dir = out_dir / "landing"
    truth_dir = out_dir / "truth"
    spool_dir = out_dir / "_spool"
    for d in (landing_dir, truth_dir, spool_dir):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)

    start_ts = epoch(config.start_date)
    horizon = start_ts + config.days * DAY
    customers = Customers()
    base_rng = np.random.default_rng([config.seed, 0])
    customers.add(
        base_rng, config.n_customers, start_ts - 365 * 5 * DAY, start_ts - DAY, config.timezone
    )
    agents = make_agents(
        random.Random(f"beacon-agents:{config.seed}"),
        config.agents,
        config.agents_per_team,
        config.rusher_share,
        config.rush_speedup,
    )
    truth = TruthWriter(truth_dir, spool_dir, start_ts)
    # faults sort by id, which is their order of creation: one bucket keeps that order
    landing = Landing(
        config, landing_dir, spool_dir, start_ts, lambda row: truth.add("faults", row, start_ts)
    )
    sim = Simulation(config, start_ts, customers, agents, landing, truth)
    try:
        sim.run(progress)
        landing.close()
        truth.finish()
        truth.write_table("customers", _customers_table(customers, horizon))
        truth.write_table("agents", _agents_table(agents))
        counts = {feed: landing.counts[feed] for feed in FEEDS}
        truth.write_json(
            "run.json",
            {
                "simulator_version": SIMULATOR_VERSION,
                "seed": config.seed,
                "config": config.as_dict(),
                "start": iso(start_ts),
                "horizon": iso(horizon),
                "counts": {
                    "feeds": {
                        f: {"records": c.records, "files": c.files} for f, c in counts.items()
                    },
                    "contacts": truth.counts["contacts"],
                    "issues": truth.counts["issues"],
                    "faults": truth.counts["faults"],
                    "customers": customers.n,
                    "agents": len(agents.agents),
                },
            },
        )
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
    return SimulationResult(
        landing_dir=landing_dir,
        truth_dir=truth_dir,
        counts=counts,
        contacts=truth.counts["contacts"],
        issues=truth.counts["issues"],
        faults=truth.counts["faults"],
        customers=customers.n,
        horizon=datetime.fromtimestamp(horizon, UTC),
    )


def _customers_table(c: Customers, horizon: int) -> pa.Table:
    n = c.n
    ts = pa.timestamp("us", tz="UTC")
    churned = c.churned_at[:n]
    return pa.table(
        {
            "customer_id": pa.array([Customers.customer_id(i) for i in range(n)], pa.string()),
            "created_at": pa.array(c.created_at[:n] * 1_000_000, ts),
            "segment": pa.array([SEGMENTS[s] for s in c.segment[:n]], pa.string()),
            "needs_category": pa.array([NEEDS[s] for s in c.needs[:n]], pa.string()),
            "region": pa.array([REGIONS[s] for s in c.region[:n]], pa.string()),
            "timezone": pa.array(c.timezone[:n], pa.string()),
            "plan": pa.array([PLANS[s] for s in c.plan[:n]], pa.string()),
            "subscriptions": pa.array(c.subscriptions[:n], pa.int64()),
            "mrr": pa.array(c.mrr[:n], pa.float64()),
            "email": pa.array(c.email[:n], pa.string()),
            "phone_number": pa.array(c.phone[:n], pa.string()),
            "contact_propensity": pa.array(np.round(c.propensity[:n], 6), pa.float64()),
            "identity_changes": pa.array(c.identity_changes[:n], pa.int64()),
            "is_active": pa.array(churned < 0, pa.bool_()),
            "churned_at": pa.array([None if v < 0 else int(v) * 1_000_000 for v in churned], ts),
            "churn_reason": pa.array([CHURN_REASONS[r] for r in c.churn_reason[:n]], pa.string()),
        }
    )


def _agents_table(agents: Agents) -> pa.Table:
    rows: list[dict[str, Any]] = [
        {
            "agent_id": a.agent_id,
            "team": a.team,
            "primary_queue": a.primary_queue,
            "queues": list(a.queues),
            "skill_level": a.skill_level,
            "speed_factor": a.speed_factor,
            "rush_factor": a.rush_factor,
            "days_off": list(a.days_off),
        }
        for a in agents.agents
    ]
    schema = pa.schema(
        [
            ("agent_id", pa.string()),
            ("team", pa.string()),
            ("primary_queue", pa.string()),
            ("queues", pa.list_(pa.string())),
            ("skill_level", pa.int64()),
            ("speed_factor", pa.float64()),
            ("rush_factor", pa.float64()),
            ("days_off", pa.list_(pa.int64())),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)
