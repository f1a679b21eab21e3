#!/usr/bin/env bash
# Superset on Beacon's serving copy (docker-compose.yml, profile "bi"; docs/bi.md): the DuckDB
# driver, Superset's own metadata database, an admin, Beacon's example dashboard imported,
# then the web server. Safe to run again on every start.
set -euo pipefail

# Superset's images carry no database drivers: DuckDB at the version that wrote the serving
# copy (pyproject.toml) and its SQLAlchemy dialect
if ! python -c "import duckdb_engine" 2>/dev/null; then
  if command -v uv >/dev/null 2>&1 && [ -x /app/.venv/bin/python ]; then
    uv pip install --python /app/.venv/bin/python "duckdb==2.0.0" "duckdb-engine>=0.17,<0.18"
  else
    pip install --no-cache-dir "duckdb==2.0.0" "duckdb-engine>=0.17,<0.18"
  fi
fi

superset db upgrade
# the admin exists already after a restart: not an error
superset fab create-admin --username "${SUPERSET_ADMIN_USER:-admin}" --firstname Beacon \
  --lastname Admin --email admin@example.invalid \
  --password "${SUPERSET_ADMIN_PASSWORD:-admin}" || true
superset init

# the bundle (database, datasets, charts, dashboard) as the ZIP Superset imports
bundle="$(mktemp -d)/beacon_dashboard.zip"
(cd /opt/beacon-bi && python -m zipfile -c "$bundle" beacon_dashboard)
superset import-dashboards -p "$bundle" -u "${SUPERSET_ADMIN_USER:-admin}"

exec /usr/bin/run-server.sh
