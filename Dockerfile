# One image for every Airflow service of docker-compose.yml: Beacon and its pinned stack
# installed from uv.lock, the same environment the tests run in. The project is installed
# editable, so the read-only mount of the repository at /opt/beacon (docker-compose.yml)
# is the code that runs. The `celery` extra serves the optional Celery worker profile; the
# Spark extra is not in the image: a cluster runs Spark (docs/spark.md).
FROM python:3.11-slim

ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/beacon-venv \
    AIRFLOW_HOME=/opt/airflow \
    DO_NOT_TRACK=1 \
    PATH=/opt/beacon-venv/bin:$PATH

RUN pip install --no-cache-dir uv
WORKDIR /opt/beacon
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra deploy --extra celery --no-install-project
COPY . .
RUN uv sync --frozen --no-dev --extra deploy --extra celery

# compose runs the services as ${AIRFLOW_UID:-50000} in group 0: everything they write is
# group-writable (Airflow's home and logs, the data folders behind the volumes)
RUN useradd --create-home --uid 50000 --gid 0 airflow \
    && mkdir -p /opt/airflow/logs /data/landing /data/warehouse /data/serving \
    && chown -R 50000:0 /opt/airflow /data \
    && chmod -R g+rwX /opt/airflow /data
USER 50000
