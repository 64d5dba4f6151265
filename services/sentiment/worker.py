"""The sentiment worker process: ``python -m services.sentiment.worker``.

A member of the ``RADAR_SENTIMENT_GROUP`` consumer group; start more of them to score more
partitions in parallel (up to ``RADAR_TOPIC_PARTITIONS``).
"""

from __future__ import annotations

import logging

from common.bus import Bus, Publisher
from common.bus.factory import connect_bus
from common.bus.provisioning import TopicProvisioner
from common.consumer import BatchLoop
from common.cpus import usable_cores
from common.logging import configure_logging
from common.runner import run_worker
from common.settings import Settings
from services.sentiment.model import SentimentModel
from services.sentiment.scoring import Predictor, ScoringProcessor, Tagger
from services.sentiment.topics import TopicTagger

log = logging.getLogger(__name__)


def model_threads(settings: Settings) -> int:
    """One intra-op thread per core this process may use, unless configured (the sentiment API)."""
    if settings.model_threads:
        return settings.model_threads
    return usable_cores()


def worker_model_threads(settings: Settings) -> int:
    """Intra-op threads of *each* model in the worker: half the cores (at least 1), unless configured.

    The worker runs its two models at the same time on the same batch (``ScoringProcessor``), so
    each gets half the cores; on two cores that is one thread each, which has no thread pool to
    synchronise at all.  Measured on 2 cores: 86-95 mentions/s, against 45-57/s for the models
    one after the other at 2 threads each (docs/benchmarks.md, "Whole scoring path").
    """
    if settings.model_threads:
        return settings.model_threads
    return max(1, usable_cores() // 2)


def build_loop(
    settings: Settings, bus: Bus, model: Predictor, tagger: Tagger, publisher: Publisher | None = None
) -> BatchLoop:
    TopicProvisioner(bus, settings).ensure()
    return BatchLoop(
        name="sentiment",
        subscription=bus.subscribe([settings.topics.raw], settings.sentiment_consumer_group),
        publisher=publisher or bus.publisher(),
        processor=ScoringProcessor(model, tagger, settings.topics),
        batch_size=settings.sentiment_batch_size,
        batch_wait_s=settings.sentiment_batch_wait_ms / 1000,
        produce_timeout_s=settings.produce_timeout_s,
    )


def main() -> None:
    settings = Settings()
    configure_logging("sentiment-worker", settings.log_level)
    threads = worker_model_threads(settings)
    model = SentimentModel.load(settings.model_dir, intra_op_threads=threads)
    tagger = TopicTagger.load(settings.topic_model_dir, intra_op_threads=threads)
    log.info("models loaded", extra={"model": model.name, "version": model.version, "topics": tagger.version})
    bus = connect_bus(settings, client_id="radar-sentiment")
    run_worker(build_loop(settings, bus, model, tagger), settings)


if __name__ == "__main__":
    main()
