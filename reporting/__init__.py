"""Reports over the marts: the daily outcome report for operations leads (HTML, optionally
PDF), and the BI recipes and dashboard definitions (``reporting/bi/``, docs/bi.md).

Reports follow the marts: they read only the ``marts`` schema, of the working warehouse or
of the published serving copy, through a read-only connection.

    build_report(source, day, out_dir)   # any DuckDB file with the marts, or a serving folder
    publish_report(config, day)          # the pipeline's: <serving>/reports/<day>.html
"""

from reporting.report import (
    build_report,
    publish_report,
    read_figures,
    resolve_database,
    write_report,
)

__all__ = ["build_report", "publish_report", "read_figures", "resolve_database", "write_report"]
