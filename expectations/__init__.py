"""Great Expectations suites that guard every input batch, one module per feed.

Issue #4 builds them (critical and warning expectations run inside DuckDB); until then the
contract checks in ``ingest/`` are the only gate.
"""
