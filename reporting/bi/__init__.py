"""BI over the serving copy: the Superset example bundle and the metrics-by-name SQL
(docs/bi.md)."""
