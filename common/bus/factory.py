"""The one place that turns settings into a bus, so no service names an implementation.

``RADAR_BUS=kafka`` keeps the distributed deployment; ``RADAR_BUS=embedded`` runs every service
of one machine on a shared SQLite file (``docs/embedded.md``).  Imports are local so the
embedded mode never loads kafka-python and the Kafka mode never opens a file.
"""

from __future__ import annotations

from common.bus.base import Bus
from common.settings import Settings


def connect_bus(settings: Settings, client_id: str) -> Bus:
    """A bus for ``client_id`` as configured; the embedded one fails here on an unusable file."""
    if settings.bus == "embedded":
        from common.bus.sqlite import BUS_FILE, SqliteBus

        return SqliteBus(
            settings.data_dir / BUS_FILE,
            client_id=client_id,
            synchronous=settings.bus_synchronous,
            lock_timeout_s=settings.bus_lock_timeout_s,
            session_timeout_s=settings.bus_session_timeout_s,
            retention_s=settings.bus_retention_hours * 3600,
        )
    from common.bus.kafka import KafkaBus

    return KafkaBus(settings.kafka_servers, client_id=client_id, produce_timeout_s=settings.produce_timeout_s)
