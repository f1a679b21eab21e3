"""A realistic, deterministic contact-centre simulator: the demo's data source and every
test's fixture factory. See ``docs/simulator.md``.

    from beacon.simulator import SimulationConfig, DirtConfig, simulate
    result = simulate(SimulationConfig(out_dir=Path("var/sim"), seed=42, days=30))
"""

from .config import FAULT_TYPES, FORMATS, DirtConfig, SimulationConfig
from .landing import FeedCounts
from .run import SimulationResult, simulate

__all__ = [
    "FAULT_TYPES",
    "FORMATS",
    "DirtConfig",
    "FeedCounts",
    "SimulationConfig",
    "SimulationResult",
    "simulate",
]
