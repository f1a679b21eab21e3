# One image for every Airflow service of docker-compose.yml: Beacon and its pinned stack
# installed from uv.lock, the same environment the tests run in.
FROM python:3.11-slim

ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/beacon-venv \
    DO_NOT_TRACK=1 \
    PATH=/opt/beacon-venv/bin:$PATH

RUN pip install --no-cache-dir uv
WORKDIR /opt/beacon
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra deploy --no-install-project
COPY . .
RUN uv sync --frozen --no-dev --extra deploy

RUN useradd --create-home --uid 50000 airflow && mkdir -p /data && chown airflow /data
USER airflow
