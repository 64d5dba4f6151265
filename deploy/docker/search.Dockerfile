# radar/search: the search API with the dashboard (default command) and the indexer (python -m services.search.indexer).
# Build from the repository root:  docker build -f deploy/docker/search.Dockerfile -t radar/search .
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
# The reply guard's learned classifier and the sentence encoder it reads (checksums verified when
# first used; /readyz fails if they do not verify).
COPY models/reply-guard ./models/reply-guard
COPY models/topic-embedder ./models/topic-embedder
ENV RADAR_REPLY_MODEL_DIR=/app/models/reply-guard RADAR_TOPIC_MODEL_DIR=/app/models/topic-embedder
# Gunicorn (common/gunicorn_conf.py): gthread workers; WEB_CONCURRENCY processes x GUNICORN_THREADS
# threads; it gives the gunicorn processes a private PROMETHEUS_MULTIPROC_DIR under /tmp, so
# /metrics adds up every gunicorn process (workers started from this image do not use it).
ENV PATH=/opt/radar/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    GUNICORN_BIND=0.0.0.0:8003 WEB_CONCURRENCY=2 GUNICORN_THREADS=4 \
    RADAR_HOST=0.0.0.0 RADAR_HEALTH_URL=http://127.0.0.1:8003/readyz
USER radar
EXPOSE 8003
# Readiness of the API by default; a worker started from this image sets RADAR_HEALTH_URL to
# its metrics port (http://127.0.0.1:$RADAR_METRICS_PORT/readyz).  No curl in the slim image.
HEALTHCHECK --interval=15s --timeout=6s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['RADAR_HEALTH_URL'], timeout=5)"]
CMD ["gunicorn", "-c", "python:common.gunicorn_conf", "services.search.app:create_app()"]
