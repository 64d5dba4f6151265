# radar/alerts: the alert evaluator (default command) and the alert dispatcher (python -m services.alerts.dispatcher).
# Build from the repository root:  docker build -f deploy/docker/alerts.Dockerfile -t radar/alerts .
#
# Multi-stage: the dependencies are installed into a virtualenv in a throw-away build stage
# (the project itself is uninstalled again: its code, with the dashboard's static files, is
# copied to /app, the working directory, which is first on sys.path); the runtime stage has no
# build tools or pip cache and runs as uid 10001.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY common ./common
COPY services ./services
# The venv module seeds an old pip and setuptools (CVE-2022-40897 and later): upgrade them first.
RUN python -m venv /opt/radar && /opt/radar/bin/pip install --upgrade "pip>=25" "setuptools>=78.1.1" && /opt/radar/bin/pip install . && /opt/radar/bin/pip uninstall -y radar

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin radar
COPY --from=build /opt/radar /opt/radar
WORKDIR /app
COPY --chown=root:root common ./common
COPY --chown=root:root services ./services

# No HTTP API of its own (the alert API is on the search service): the metrics port serves
# /metrics, /healthz and /readyz.
ENV PATH=/opt/radar/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    RADAR_METRICS_PORT=9103 RADAR_HEALTH_URL=http://127.0.0.1:9103/readyz
USER radar
EXPOSE 9103
HEALTHCHECK --interval=15s --timeout=6s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['RADAR_HEALTH_URL'], timeout=5)"]
CMD ["python", "-m", "services.alerts.evaluator"]
