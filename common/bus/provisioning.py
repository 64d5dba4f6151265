"""Creating the pipeline's topics once per process, tolerating a broker that is not up yet."""

from __future__ import annotations

import logging
import threading

from common.bus.base import Bus, BusUnavailable
from common.settings import Settings

log = logging.getLogger(__name__)


class TopicProvisioner:
    """Ensures the topics exist; remembers success so the hot path pays for it once.

    A service may start before Kafka does; it then keeps serving (readiness says why it is not
    ready) and provisions on the first request that needs the bus.
    """

    def __init__(self, bus: Bus, settings: Settings) -> None:
        self._bus = bus
        self._settings = settings
        self._done = False
        self._lock = threading.Lock()

    def ensure(self) -> bool:
        try:
            self.ensure_or_raise()
        except BusUnavailable as exc:
            log.warning("topics not provisioned yet: %s", exc)
            return False
        return True

    def ensure_or_raise(self) -> None:
        if self._done:
            return
        with self._lock:
            if not self._done:
                s = self._settings
                self._bus.ensure_topics(s.topics.all(), s.topic_partitions, s.topic_replication)
                self._done = True
