"""Apache Kafka implementation of the bus, on kafka-python.

Producer settings follow from one promise, "202 means stored": ``acks=all`` plus idempotence so
retries inside the client cannot duplicate or reorder, and every timeout bounded by the ingest
deadline so an unreachable broker turns into a prompt 503 rather than a hung request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from common.bus.base import BusError, BusUnavailable, Message, Record

log = logging.getLogger(__name__)


class KafkaPublisher:
    """Publishes batches and waits for the broker's acknowledgement of every message."""

    def __init__(self, servers: Sequence[str], client_id: str, timeout_s: float) -> None:
        self._servers = list(servers)
        self._client_id = client_id
        self._timeout_ms = int(timeout_s * 1000)
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _get_producer(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                request_timeout_ms = max(1000, self._timeout_ms // 2)
                self._producer = KafkaProducer(
                    bootstrap_servers=self._servers,
                    client_id=self._client_id,
                    acks="all",
                    enable_idempotence=True,
                    max_in_flight_requests_per_connection=5,
                    linger_ms=5,
                    compression_type=None,
                    request_timeout_ms=request_timeout_ms,
                    delivery_timeout_ms=max(self._timeout_ms, request_timeout_ms + 5),
                    max_block_ms=self._timeout_ms,
                    max_request_size=16 * 1024 * 1024,
                    allow_auto_create_topics=False,
                )
            return self._producer

    def _discard_producer(self) -> None:
        # After a failed delivery an idempotent producer may hold a fenced sequence; a fresh
        # one is the simplest state that is certainly correct.
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=0)
            except Exception:
                log.debug("closing a failed producer raised", exc_info=True)

    def publish(self, topic: str, messages: Sequence[Message], timeout_s: float) -> None:
        if not messages:
            return
        try:
            producer = self._get_producer()
            futures = [producer.send(topic, value=m.value, key=m.key) for m in messages]
            producer.flush(timeout=timeout_s)
            for future in futures:
                future.get(timeout=timeout_s)
        except (KafkaError, TimeoutError, OSError) as exc:
            self._discard_producer()
            raise BusUnavailable(f"Kafka did not acknowledge {len(messages)} message(s): {exc}") from exc

    def close(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=5)


class KafkaSubscription:
    """A consumer-group member that commits explicitly, never automatically."""

    def __init__(self, servers: Sequence[str], topics: Sequence[str], group: str, client_id: str) -> None:
        try:
            self._consumer = KafkaConsumer(
                *topics,
                bootstrap_servers=list(servers),
                client_id=client_id,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=16 * 1024 * 1024,
                session_timeout_ms=10_000,
                heartbeat_interval_ms=3_000,
                max_poll_interval_ms=300_000,
            )
        except KafkaError as exc:
            raise BusUnavailable(f"cannot join consumer group {group!r}: {exc}") from exc

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        try:
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except KafkaError as exc:
            raise BusUnavailable(f"poll failed: {exc}") from exc
        records = [
            Record(
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                key=r.key,
                value=r.value if r.value is not None else b"",
                timestamp_ms=r.timestamp,
            )
            for batch in batches.values()
            for r in batch
        ]
        records.sort(key=lambda r: (r.topic, r.partition, r.offset))
        return records

    def commit(self, records: Sequence[Record]) -> None:
        highest: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            highest[tp] = max(highest.get(tp, -1), record.offset)
        if not highest:
            return
        offsets = {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in highest.items()}
        try:
            self._consumer.commit(offsets=offsets)
        except KafkaError as exc:
            # Typically a rebalance: the partition's new owner re-reads from the last commit,
            # which is safe because every downstream write is idempotent.
            raise BusError(f"commit failed: {exc}") from exc

    def lag(self) -> dict[tuple[str, int], int]:
        # One ListOffsets request for the log ends.  The cached high watermark of the fetch
        # responses is not enough: the client stops fetching a partition while it holds buffered
        # records, so under load the watermark goes stale and the lag would read low.
        try:
            assigned = list(self._consumer.assignment())
            if not assigned:
                return {}
            ends = self._consumer.end_offsets(assigned, timeout_ms=2000)
            lag: dict[tuple[str, int], int] = {}
            for tp in assigned:
                end = ends.get(tp)
                position = self._consumer.position(tp, timeout_ms=2000)
                if end is not None and position is not None:
                    lag[(tp.topic, tp.partition)] = max(0, end - position)
            return lag
        except KafkaError as exc:
            raise BusUnavailable(f"cannot read the consumer's lag: {exc}") from exc

    def close(self) -> None:
        self._consumer.close(autocommit=False)


class KafkaBus:
    """Factory for publishers and subscriptions against one cluster."""

    def __init__(self, servers: Sequence[str], client_id: str = "radar", produce_timeout_s: float = 10.0) -> None:
        self._servers = list(servers)
        self._client_id = client_id
        self._produce_timeout_s = produce_timeout_s

    def _admin(self, timeout_s: float) -> KafkaAdminClient:
        return KafkaAdminClient(
            bootstrap_servers=self._servers,
            client_id=f"{self._client_id}-admin",
            request_timeout_ms=int(timeout_s * 1000),
        )

    def ensure_topics(self, names: Sequence[str], partitions: int, replication: int) -> None:
        try:
            admin = self._admin(timeout_s=15)
        except KafkaError as exc:
            raise BusUnavailable(f"cannot reach Kafka at {self._servers}: {exc}") from exc
        try:
            existing = set(admin.list_topics())
            missing = [n for n in names if n not in existing]
            if missing:
                try:
                    admin.create_topics(
                        [NewTopic(n, num_partitions=partitions, replication_factor=replication) for n in missing]
                    )
                    log.info("created topics %s", missing)
                except TopicAlreadyExistsError:
                    log.debug("topics created concurrently: %s", missing)
        except KafkaError as exc:
            raise BusUnavailable(f"cannot create topics {list(names)}: {exc}") from exc
        finally:
            admin.close()

    def ensure_compacted_topic(self, name: str, partitions: int, replication: int) -> None:
        try:
            admin = self._admin(timeout_s=15)
        except KafkaError as exc:
            raise BusUnavailable(f"cannot reach Kafka at {self._servers}: {exc}") from exc
        try:
            if name in set(admin.list_topics()):
                return
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            name,
                            num_partitions=partitions,
                            replication_factor=replication,
                            topic_configs={"cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1"},
                        )
                    ]
                )
                log.info("created compacted topic %s", name)
            except TopicAlreadyExistsError:
                log.debug("compacted topic created concurrently: %s", name)
        except KafkaError as exc:
            raise BusUnavailable(f"cannot create topic {name!r}: {exc}") from exc
        finally:
            admin.close()

    def read_table(self, topic: str, timeout_s: float = 10.0) -> dict[bytes, bytes]:
        # No consumer group: every reader wants the whole table, and nothing is committed.
        try:
            consumer = KafkaConsumer(
                bootstrap_servers=self._servers,
                client_id=f"{self._client_id}-table",
                group_id=None,
                enable_auto_commit=False,
                consumer_timeout_ms=int(timeout_s * 1000),
            )
        except KafkaError as exc:
            raise BusUnavailable(f"cannot read {topic!r}: {exc}") from exc
        table: dict[bytes, bytes] = {}
        try:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                return table
            assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(assigned)
            consumer.seek_to_beginning(*assigned)
            ends = consumer.end_offsets(assigned)
            remaining = {tp for tp in assigned if ends[tp] > consumer.position(tp)}
            deadline = time.monotonic() + timeout_s
            while remaining:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BusUnavailable(f"reading {topic!r} did not reach its end in {timeout_s}s")
                batches = consumer.poll(timeout_ms=int(min(left, 1.0) * 1000), max_records=10_000)
                for records in batches.values():
                    for r in records:
                        if r.key is None:
                            continue
                        if r.value:
                            table[r.key] = r.value
                        else:
                            table.pop(r.key, None)
                for tp in list(remaining):
                    if consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
            return table
        except KafkaError as exc:
            raise BusUnavailable(f"cannot read {topic!r}: {exc}") from exc
        finally:
            consumer.close(autocommit=False)

    def publisher(self) -> KafkaPublisher:
        return KafkaPublisher(self._servers, self._client_id, self._produce_timeout_s)

    def subscribe(self, topics: Sequence[str], group: str) -> KafkaSubscription:
        return KafkaSubscription(self._servers, topics, group, self._client_id)

    def is_healthy(self, timeout_s: float = 2.0) -> bool:
        try:
            admin = self._admin(timeout_s)
        except (KafkaError, OSError):
            return False
        try:
            admin.describe_cluster()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()
