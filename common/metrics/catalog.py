"""Every metric Radar exports, defined once.

Label values are bounded on purpose: services, workers, route templates, topics, partitions,
channel types, outcomes and dead-letter stages.  Never tenant ids, mention ids, URLs or text,
because each distinct label value is a time series kept forever by Prometheus.

Under gunicorn with several workers ``PROMETHEUS_MULTIPROC_DIR`` must be set before this module
is imported (``common.gunicorn_conf`` and the images do it): the values then live in files that
the ``/metrics`` view of any worker aggregates.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

BATCH_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# --- HTTP services ---------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "radar_http_requests_total",
    "HTTP requests answered, by service, method, route template and status.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "radar_http_request_duration_seconds",
    "Time from the request's arrival in Flask to its response, by service, method and route template.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)

# --- consumer loops (common.consumer.BatchLoop) ------------------------------------------------
RECORDS_CONSUMED = Counter(
    "radar_records_consumed_total", "Records consumed and committed, by worker and topic.", ["worker", "topic"]
)
RECORDS_PRODUCED = Counter(
    "radar_records_produced_total",
    "Records published and acknowledged by the broker, by worker and topic.",
    ["worker", "topic"],
)
BATCH_SIZE = Histogram(
    "radar_batch_size", "Records per processed batch, by worker.", ["worker"], buckets=BATCH_SIZE_BUCKETS
)
BATCH_LATENCY = Histogram(
    "radar_batch_duration_seconds",
    "Time to process, publish and commit one batch (retries included), by worker.",
    ["worker"],
    buckets=LATENCY_BUCKETS,
)
COMMITS = Counter("radar_commits_total", "Offset commits, by worker and outcome (ok, failed).", ["worker", "outcome"])
BATCH_RETRIES = Counter(
    "radar_batch_retries_total", "Batches retried because a dependency was down, by worker.", ["worker"]
)
CONSUMER_LAG = Gauge(
    "radar_consumer_lag",
    "Records between the consumer's position and the partition's end, per assigned partition.",
    ["worker", "topic", "partition"],
    multiprocess_mode="livemax",
)

# --- what the processors report ----------------------------------------------------------------
DEAD_LETTERS = Counter(
    "radar_dead_letters_total",
    "Records parked on a dead-letter topic, by the stage that refused them (the reason's category).",
    ["stage"],
)
MODEL_LATENCY = Histogram(
    "radar_model_inference_seconds",
    "Time of one model call on a batch, by model (sentiment, topics) and caller (worker, api).",
    ["model", "caller"],
    buckets=LATENCY_BUCKETS,
)
INDEX_BULK_LATENCY = Histogram(
    "radar_index_bulk_seconds", "Time of one bulk write of mentions to the search engine.", buckets=LATENCY_BUCKETS
)
INDEX_ERRORS = Counter(
    "radar_index_errors_total",
    "Index write failures: 'rejected' documents (dead-lettered) or 'unavailable' engine (batch retried).",
    ["kind"],
)
ALERT_DELIVERIES = Counter(
    "radar_alert_deliveries_total",
    "Alert delivery attempts by channel type and outcome (ok, retry, failed).",
    ["channel", "outcome"],
)
