"""Adapters: real exports → files in the feed contracts' shape, written into a landing zone.

Beacon's ingest only reads the three feed contracts (``shared/product/feeds.md``). An
adapter converts one source's export into a contract-shaped batch file under
``<landing>/<feed>/`` and accounts for every source record: each is either mapped (it
produced at least one contract record) or reported with a reason. Nothing is dropped
silently.

- :mod:`ingest.adapters.event_log`: status-history / event-log CSV → ``tickets``, driven
  by a declarative YAML mapping per source (``ingest/adapters/mappings/*.yaml``); the
  engine is DuckDB SQL generated from the mapping.
- :mod:`ingest.adapters.amazon_connect`: Amazon Connect contact trace records → ``calls``.
- :mod:`ingest.adapters.zendesk`: Zendesk ticket audits → ``tickets``.

See ``docs/adapters.md``.
"""

from __future__ import annotations

from ingest.adapters.result import AdaptResult

__all__ = ["AdaptResult"]
