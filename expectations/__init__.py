"""Great Expectations suites that guard every input batch, one module per feed.

``calls``, ``tickets`` and ``crm`` build each feed's suite (critical and warning
expectations, see ``common``); ``runner.validate_batch`` validates a DuckDB table with it
inside DuckDB and records the outcomes in ``raw._quality_results``; ``gx_duckdb`` holds the
patch GX 1.24.1 needs on DuckDB, ``sql_check`` the SQL check that runs its query once. The
thresholds are ``BeaconConfig.quality`` (``QualitySettings``). GX itself is imported only
when a suite is built.
See ``docs/quality.md``.
"""

from expectations.common import QualitySettings
from expectations.runner import (
    RESULTS_TABLE,
    BatchValidation,
    ExpectationOutcome,
    build_suite,
    default_data_docs_dir,
    validate_batch,
)

__all__ = [
    "RESULTS_TABLE",
    "BatchValidation",
    "ExpectationOutcome",
    "QualitySettings",
    "build_suite",
    "default_data_docs_dir",
    "validate_batch",
]
