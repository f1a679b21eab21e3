"""The example Superset dashboard (``reporting/bi/superset/beacon_dashboard/``): a Superset
export bundle (``superset import-dashboards -p <zip>``) over the published serving copy.

The charts, the dashboard and the database connection are written by hand; the datasets are
generated here from the marts' contracts (``dbt_project/models/marts/**/_*__models.yml``):
every contracted column with its type and description, and the metrics below, named as the
semantic layer's metrics (``_marts__semantic_models.yml``) and defined on the marts' additive
counts the same way. Regenerate after a contract changes::

    .venv/bin/python -m reporting.bi.superset_export          # rewrites the dataset YAMLs
    .venv/bin/python -m reporting.bi.superset_export --zip X  # and writes the bundle as X

``tests/test_bi.py`` fails when a dataset column is no longer in its mart's contract (or has
another type), a metric does not bind to the contracted columns, or a chart names a column
or metric its dataset does not have. A column added to a contract is picked up by the next
regeneration.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
MARTS_DIR = ROOT / "dbt_project" / "models" / "marts"
BUNDLE = Path(__file__).resolve().parent / "superset" / "beacon_dashboard"
DATABASE_UUID = "7f5f5547-578b-49aa-8ead-dd49a87d7f1b"
DATABASE_DIR = "Beacon_serving_copy"
SCHEMA = "marts"

_TYPES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def _ratio(numerator: str, denominator: str) -> str:
    return f"SUM({numerator}) * 1.0 / NULLIF(SUM({denominator}), 0)"


#: dataset -> (uuid, time column, {metric name: (expression, d3 format, description)})
DATASETS: dict[str, tuple[str, str | None, dict[str, tuple[str, str, str]]]] = {
    "mart_daily_outcomes": (
        "06a5c9b6-f19d-4bf1-ae4e-020c332200a8",
        "outcome_date",
        {
            # outcomes: the semantic layer's metrics of the same name
            "fcr_rate": (
                _ratio("issues_first_contact_resolved", "issues_mature"),
                ".1%",
                "First-contact resolution: mature issues durably resolved with one contact / "
                "mature issues.",
            ),
            "repeat_contact_rate": (
                _ratio("repeat_contacts", "issue_contacts"),
                ".1%",
                "Contacts that were not the first of their issue / contacts in issues.",
            ),
            "sco_rate": (
                _ratio("issues_successful_outcome", "issues_mature"),
                ".1%",
                "Successful customer outcomes / mature issues.",
            ),
            "reopen_rate": (
                _ratio("tickets_reopened", "tickets_solved"),
                ".1%",
                "Tickets reopened / tickets solved.",
            ),
            "contacts_per_resolution": (
                _ratio("mature_issue_contacts", "issues_durably_resolved"),
                ".2f",
                "Contacts in mature issues / durably resolved issues (customer effort).",
            ),
            "handoffs_per_issue": (
                _ratio("mature_issue_handoffs", "issues_mature"),
                ".2f",
                "Hand-offs in mature issues / mature issues.",
            ),
            "failure_demand_share": (
                "(SUM(failure_demand_repeats) + SUM(chaser_messages)) * 1.0 / "
                "NULLIF(SUM(identified_contacts) + SUM(chaser_messages), 0)",
                ".1%",
                "(Repeat contacts + chasers) / (identified contacts + chasers).",
            ),
            "same_reason_repeat_rate_7d": (
                _ratio("same_reason_repeats_7d", "identified_contacts"),
                ".1%",
                "Identified contacts within 7 days of the previous contact about the same "
                "problem / identified contacts.",
            ),
            # outputs (vendor definitions)
            "aht_seconds": (_ratio("handle_seconds", "handled"), ",.0f", "Average handle time."),
            "asa_seconds": (
                _ratio("answer_wait_seconds", "handled"),
                ",.0f",
                "Average speed of answer.",
            ),
            "service_level": (
                "SUM(answered_within_service_level) * 1.0 / "
                "NULLIF(SUM(offered) - SUM(short_abandons), 0)",
                ".1%",
                "Answered within the threshold / (offered − short abandons).",
            ),
            "abandonment_rate": (
                "SUM(abandoned) * 1.0 / NULLIF(SUM(offered) - SUM(short_abandons), 0)",
                ".1%",
                "Abandoned / (offered − short abandons).",
            ),
            "transfer_rate": (_ratio("transferred", "handled"), ".1%", "Transferred / handled."),
            # counts
            "contacts": ("SUM(contacts)", ",d", "Customer contacts."),
            "offered": ("SUM(offered)", ",d", "Calls offered."),
            "issues_started": ("SUM(issues_started)", ",d", "Issues started."),
            "issues_mature": ("SUM(issues_mature)", ",d", "Issues with a known outcome."),
            "issues_pending": (
                "SUM(issues_pending)",
                ",d",
                "Issues still pending maturity: not final, never counted as resolved or failed.",
            ),
            "repeat_contacts": (
                "SUM(failure_demand_repeats)",
                ",d",
                "Contacts that started that day and were repeats.",
            ),
        },
    ),
    "mart_agent_weekly": (
        "8e77fe2e-c176-44a5-930e-d685fbab76be",
        "week_start",
        {
            "aht_seconds": (_ratio("handle_seconds", "legs_handled"), ",.0f", "AHT."),
            "repeat_rate": (
                _ratio("repeats_charged", "contacts_handled"),
                ".1%",
                "Repeats charged / contacts handled.",
            ),
            "agents_in_aht_trap": (
                "SUM(CASE WHEN is_aht_trap THEN 1 ELSE 0 END)",
                ",d",
                "Agents faster than the week's median AHT with a repeat rate above its median.",
            ),
        },
    ),
    "mart_triple_crown": (
        "108c8af3-384a-476d-aad2-5ca3c0adf9ce",
        "month_start",
        {
            "cost_per_resolution": (
                _ratio("handling_cost", "issues_durably_resolved"),
                ",.2f",
                "Handling cost / durably resolved issues.",
            ),
            "sco_rate": (
                _ratio("issues_successful_outcome", "issues_mature"),
                ".1%",
                "Successful customer outcomes / mature issues.",
            ),
            "churn_30d_after_resolved": (
                _ratio("resolved_issues_churned_30d", "resolved_issues_observed_30d"),
                ".1%",
                "Churn within 30 days after a durably resolved issue.",
            ),
            "churn_30d_after_unresolved": (
                _ratio("unresolved_issues_churned_30d", "unresolved_issues_observed_30d"),
                ".1%",
                "Churn within 30 days after an unresolved issue.",
            ),
            "revenue_at_risk": (
                "SUM(revenue_at_risk)",
                ",.0f",
                "MRR of customers with an open or failed issue (distinct per month).",
            ),
        },
    ),
    "mart_feed_status": (
        "569517fe-4a72-4135-b334-187105365031",
        None,
        {
            "degraded_feeds": (
                "SUM(CASE WHEN is_degraded THEN 1 ELSE 0 END)",
                ",d",
                "Feeds whose figures come from their last good data.",
            ),
            "rows_quarantined_open": (
                "SUM(rows_quarantined_open)",
                ",d",
                "Quarantined rows not yet replayed (not in the figures).",
            ),
        },
    ),
}


def contracts() -> dict[str, list[dict[str, Any]]]:
    """Every mart's contracted columns (name, data_type, description), from the dbt YAML."""
    models: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(MARTS_DIR.rglob("_*__models.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            models[model["name"]] = model.get("columns", [])
    return models


def dataset_yaml(name: str) -> dict[str, Any]:
    uuid, time_column, metrics = DATASETS[name]
    columns = contracts()[name]
    return {
        "table_name": name,
        "main_dttm_col": time_column,
        "description": f"Beacon mart {SCHEMA}.{name} (dbt_project/models/marts; contract "
        "enforced). Rates are recomputed from the additive counts by the metrics.",
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": SCHEMA,
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "uuid": uuid,
        "metrics": [
            {
                "metric_name": metric,
                "verbose_name": None,
                "metric_type": None,
                "expression": expression,
                "description": description,
                "d3format": d3format,
                "extra": None,
                "warning_text": None,
            }
            for metric, (expression, d3format, description) in metrics.items()
        ],
        "columns": [
            {
                "column_name": column["name"],
                "verbose_name": None,
                "is_dttm": column["data_type"] in ("date", "timestamp"),
                "is_active": True,
                "type": _TYPES[column["data_type"]],
                "groupby": True,
                "filterable": True,
                "expression": None,
                "description": column.get("description"),
                "python_date_format": None,
            }
            for column in columns
            if not column["name"].startswith("_")  # the build's bookkeeping, not for BI
        ],
        "version": "1.0.0",
        "database_uuid": DATABASE_UUID,
    }


def dataset_path(name: str) -> Path:
    return BUNDLE / "datasets" / DATABASE_DIR / f"{name}.yaml"


def render_dataset(name: str) -> str:
    header = (
        "# generated by reporting/bi/superset_export.py from the marts' contracts: "
        "do not edit by hand\n"
    )
    return header + yaml.safe_dump(dataset_yaml(name), sort_keys=False, allow_unicode=True)


def write_datasets() -> list[Path]:
    written = []
    for name in DATASETS:
        path = dataset_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_dataset(name))
        written.append(path)
    return written


def write_zip(target: Path) -> Path:
    """The bundle as the ZIP ``superset import-dashboards -p`` takes."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(BUNDLE.rglob("*.yaml")):
            archive.write(path, Path(BUNDLE.name) / path.relative_to(BUNDLE))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zip", type=Path, help="also write the bundle as this ZIP file")
    args = parser.parse_args(argv)
    for path in write_datasets():
        print(f"wrote {path.relative_to(ROOT)}")
    if args.zip:
        print(f"wrote {write_zip(args.zip)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
