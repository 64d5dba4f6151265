"""One settings object for every service.

Every knob is an environment variable prefixed ``RADAR_`` with a documented default, so a
deployment is described completely by its environment (twelve-factor) and a test can build a
``Settings`` by hand without touching ``os.environ``.  The table in ``docs/configuration.md`` is
the user-facing copy of the field descriptions below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Topics:
    """Topic names derived from one prefix, so a test run or a staging stack can share a broker."""

    def __init__(self, prefix: str) -> None:
        self.raw = f"{prefix}.mentions.raw"
        self.scored = f"{prefix}.mentions.scored"
        self.dead_letter = f"{prefix}.mentions.dead-letter"

    def all(self) -> list[str]:
        return [self.raw, self.scored, self.dead_letter]


class Settings(BaseSettings):
    """Configuration shared by ingest, sentiment and search."""

    model_config = SettingsConfigDict(env_prefix="RADAR_", extra="ignore", frozen=True)

    # --- Kafka -------------------------------------------------------------------------------
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Comma-separated Kafka bootstrap servers.")
    topic_prefix: str = Field("radar", description="Prefix of every topic name.")
    topic_partitions: int = Field(
        6, ge=1, description="Partitions of the mention topics (the sentiment group's width)."
    )
    topic_replication: int = Field(1, ge=1, description="Replication factor of created topics.")
    produce_timeout_s: float = Field(
        10.0,
        gt=0,
        description="How long ingest waits for the broker's acknowledgement before answering 503.",
    )

    # --- Search engine -----------------------------------------------------------------------
    search_engine: Literal["elasticsearch", "opensearch"] = Field(
        "elasticsearch", description="Which engine serves search: its official client is used."
    )
    search_url: str = Field(
        "http://127.0.0.1:9200", description="Search engine URL(s), comma-separated for several nodes."
    )
    index_alias: str = Field(
        "radar-mentions",
        description="Alias that the services read and write; concrete indices are <alias>-v<N>.",
    )
    index_shards: int = Field(1, ge=1, description="Primary shards of a new mentions index.")
    index_replicas: int = Field(0, ge=0, description="Replicas of a new mentions index.")

    # --- HTTP services -----------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Interface the HTTP services bind to.")
    ingest_port: int = Field(8001, description="Port of the ingest API.")
    sentiment_port: int = Field(8002, description="Port of the sentiment API.")
    search_port: int = Field(8003, description="Port of the search API.")
    api_keys: str = Field(
        "",
        description=(
            "API keys as comma-separated KEY=TENANT:ROLE entries (roles: viewer, marketer, admin). "
            "Keys never appear in logs."
        ),
    )
    max_batch_items: int = Field(500, ge=1, description="Most mentions accepted in one POST.")
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest request body accepted (bytes).")
    max_text_chars: int = Field(100_000, ge=1, description="Longest review text accepted (characters).")

    # --- Sentiment worker --------------------------------------------------------------------
    model_dir: Path = Field(
        REPO_ROOT / "models" / "review-sentiment",
        description="Directory of the ONNX model, tokenizer and manifest.",
    )
    topic_model_dir: Path = Field(
        REPO_ROOT / "models" / "topic-embedder",
        description="Directory of the topic model (sentence encoder, prototypes, thresholds).",
    )
    model_threads: int = Field(0, ge=0, description="ONNX Runtime intra-op threads; 0 means one per available core.")
    sentiment_group: str = Field("", description="Consumer group of the scorers; empty means <topic prefix>.sentiment.")
    sentiment_batch_size: int = Field(32, ge=1, description="Most mentions scored in one batch.")
    sentiment_batch_wait_ms: int = Field(
        50, ge=0, description="Longest wait to fill a batch before scoring what is there."
    )

    # --- Indexer -----------------------------------------------------------------------------
    indexer_group: str = Field("", description="Consumer group of the indexers; empty means <topic prefix>.indexer.")
    indexer_batch_size: int = Field(500, ge=1, description="Most mentions in one bulk request.")
    indexer_batch_wait_ms: int = Field(200, ge=0, description="Longest wait to fill a bulk.")

    # --- Privacy -----------------------------------------------------------------------------
    privacy_staff_names: str = Field(
        "",
        description=(
            "The practice's own staff, comma-separated names and aliases (\"Dr. Anika Patel, Jake Moreno, Jake\"): "
            "the PHI detector never reports them as patients' names."
        ),
    )
    privacy_practice_phone: str = Field(
        "", description="The office phone number that the reply guard's suggested rewrite invites reviewers to call."
    )
    privacy_min_confidence: float = Field(
        0.5, ge=0, le=1, description="Weakest PHI detection reported (0.55 is a lone first name opening a sentence)."
    )

    log_level: str = Field("INFO", description="Log level of every service.")

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @property
    def topics(self) -> Topics:
        # A plain property, not a cached one: model_copy(update=...) copies cached values, which
        # would keep the old prefix's topic names on a copy with a new prefix.
        return Topics(self.topic_prefix)

    @property
    def sentiment_consumer_group(self) -> str:
        # Derived from the topic prefix by default: two stacks sharing a broker (staging and a
        # test run, say) must never share a group, or their rebalances starve each other.
        return self.sentiment_group or f"{self.topic_prefix}.sentiment"

    @property
    def indexer_consumer_group(self) -> str:
        return self.indexer_group or f"{self.topic_prefix}.indexer"

    @property
    def kafka_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    @property
    def search_hosts(self) -> list[str]:
        return [s.strip() for s in self.search_url.split(",") if s.strip()]

    @property
    def staff_names(self) -> list[str]:
        return [s.strip() for s in self.privacy_staff_names.split(",") if s.strip()]


def configuration_table() -> str:
    """The environment-variable reference as a Markdown table (``docs/configuration.md``)."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = default.relative_to(REPO_ROOT) if default.is_relative_to(REPO_ROOT) else default
        shown = f"`{default}`" if default not in ("", None) else "(empty)"
        rows.append(f"| `RADAR_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print("# Configuration\n")
    print("Every service reads the same settings from environment variables (`common/settings.py`).")
    print("Generated by `python -m common.settings > docs/configuration.md`.\n")
    print(configuration_table())
