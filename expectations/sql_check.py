"""``UnexpectedRowCountExpectation``: GX's ``UnexpectedRowsExpectation`` that runs its query once.

GX 1.24's ``UnexpectedRowsExpectation`` depends on two metrics, ``unexpected_rows_query.table``
(the first 200 rows) and ``unexpected_rows_query.row_count`` (``SELECT COUNT(*) FROM (<query>)``),
so every query runs twice, each time in full: a ``GROUP BY key`` over 10 M rows costs twice.
This subclass depends on the count alone: success is "no row", the observed value the count
(as GX's own for the ``SUMMARY`` format, where the rows are not returned either). The runner
fetches the rows it needs itself when a check failed (failing keys, a sample), which is
rare. Everything else (the ``{batch}`` parameter, rendering) is GX's.

Imports GX: import it lazily (``common`` does, inside the builders).
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations import UnexpectedRowsExpectation


class UnexpectedRowCountExpectation(UnexpectedRowsExpectation):
    """Fails when ``unexpected_rows_query`` returns any row; observed value: how many."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        count = int(metrics["unexpected_rows_query.row_count"])
        return {"success": count == 0, "result": {"observed_value": count}}
