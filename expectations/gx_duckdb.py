"""Great Expectations on DuckDB: the one patch GX 1.24.1 needs, and a quiet ephemeral context.

**The trap** (GX issues #10738 and #11579, no fix released; 1.24.1 is the newest): every
expectation on a DuckDB table through SQLAlchemy (duckdb-engine) errors with ``list index
out of range``. ``SqlAlchemyExecutionEngine.execute_query`` runs the query inside
``with self.get_connection()`` and the caller fetches the rows *after* the block; closing
the connection rolls back SQLAlchemy's implicit transaction, and in DuckDB that wipes the
pending result. GX only avoids it for the dialects in ``_PERSISTED_CONNECTION_DIALECTS``.

**The fix** (fix (a) of ``shared/product/stack-notes.md``): buffer the result inside the
block (``.freeze()`` reads every row while the connection is open, calling the frozen
result gives a fresh, fully buffered result). It is applied once, idempotently, by
:func:`apply_duckdb_fix`; dialects other than DuckDB keep GX's own behaviour. Fix (b)
(adding DuckDB to the persisted dialects) was not chosen: it holds a long-lived read
transaction and the file lock. Remove this module when GX ships a fix (the test
``test_gx_on_duckdb_fails_without_the_fix`` will tell, as it then starts failing).

GX is imported lazily (≈ 6 s): importing ``expectations`` costs nothing until a suite is
built or a batch validated.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.data_context import AbstractDataContext

#: upstream issues this module works around
UPSTREAM_ISSUES = (
    "https://github.com/great-expectations/great_expectations/issues/10738",
    "https://github.com/great-expectations/great_expectations/issues/11579",
)
_MARK = "_beacon_duckdb_fix"
_QUIET_LOGGERS = ("great_expectations", "great_expectations.core", "py.warnings")


def quiet_gx() -> None:
    """No usage statistics, no progress bars, no INFO flood (call before importing GX)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("TQDM_DISABLE", "1")
    for name in _QUIET_LOGGERS[:2]:
        logging.getLogger(name).setLevel(logging.WARNING)


def apply_duckdb_fix() -> bool:
    """Patch ``SqlAlchemyExecutionEngine.execute_query`` for DuckDB; idempotent.

    Returns True if this call applied the patch, False if it was already applied.
    """
    quiet_gx()
    from great_expectations.execution_engine.sqlalchemy_execution_engine import (
        SqlAlchemyExecutionEngine,
    )

    current = SqlAlchemyExecutionEngine.execute_query
    if getattr(current, _MARK, False):
        return False
    original = current

    def execute_query(self: SqlAlchemyExecutionEngine, query: Any) -> Any:
        if self.dialect_name != "duckdb":
            return original(self, query)
        with self.get_connection() as connection:
            # buffer every row before the connection (and DuckDB's pending result) closes
            return self._execute_query_with_recovery(connection, query).freeze()()

    setattr(execute_query, _MARK, True)
    execute_query.__wrapped__ = original  # type: ignore[attr-defined]
    execute_query.__doc__ = f"GX's execute_query, buffered for DuckDB (see {UPSTREAM_ISSUES})."
    SqlAlchemyExecutionEngine.execute_query = execute_query  # type: ignore[method-assign]
    return True


def remove_duckdb_fix() -> None:
    """Undo :func:`apply_duckdb_fix` (for tests that show the bug)."""
    from great_expectations.execution_engine.sqlalchemy_execution_engine import (
        SqlAlchemyExecutionEngine,
    )

    current = SqlAlchemyExecutionEngine.execute_query
    if getattr(current, _MARK, False):
        SqlAlchemyExecutionEngine.execute_query = current.__wrapped__  # type: ignore[attr-defined,method-assign]


def ephemeral_context() -> AbstractDataContext:
    """A GX context that keeps nothing on disk, with the DuckDB fix applied and bars off."""
    apply_duckdb_fix()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    for name in _QUIET_LOGGERS[:2]:
        logging.getLogger(name).setLevel(logging.WARNING)
    return context


def duckdb_url(path: os.PathLike[str] | str) -> str:
    """The SQLAlchemy URL of a DuckDB file (duckdb-engine)."""
    return f"duckdb:///{os.fspath(path)}"
