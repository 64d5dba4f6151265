"""Mention ids and schema rules that the rest of the pipeline relies on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from common.schema import Mention, MentionIn, json_schema_document, mention_id


def test_ids_are_stable_and_scoped_by_tenant_and_source() -> None:
    base = {"tenant": "a", "source": "google", "external_id": "123"}
    assert mention_id(**base) == mention_id(**base, text="edited text")
    assert mention_id(**base) != mention_id(**{**base, "tenant": "b"})
    assert mention_id(**base) != mention_id(**{**base, "source": "yelp"})


def test_content_ids_ignore_case_and_whitespace_but_not_words() -> None:
    one = mention_id(tenant="a", source="reddit", external_id=None, author="Sam", text="Great  MRI team")
    two = mention_id(tenant="a", source="reddit", external_id=None, author="sam", text="great mri team ")
    three = mention_id(tenant="a", source="reddit", external_id=None, author="Sam", text="Great CT team")
    assert one == two != three


def test_from_submission_fills_server_side_fields() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    mention = Mention.from_submission(MentionIn(source="Google", rating=5), tenant="a", now=now)
    assert mention.source == "google" and mention.fetched_at == now == mention.ingested_at
    assert mention.revision_time == now


def test_updated_before_published_is_rejected() -> None:
    with pytest.raises(ValidationError, match="updated_at is before published_at"):
        MentionIn(
            source="google",
            text="x",
            published_at=datetime(2026, 2, 1, tzinfo=UTC),
            updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        )


def test_json_schema_document_is_complete() -> None:
    doc = json_schema_document()
    assert {"submission", "mention", "scored_mention", "dead_letter"} <= set(doc)
    assert "tenant" in doc["mention"]["properties"]  # type: ignore[index]


def test_a_settings_copy_with_a_new_prefix_names_its_own_topics_and_groups() -> None:
    from common.settings import Settings

    original = Settings(topic_prefix="one")
    assert original.topics.raw == "one.mentions.raw"
    copy = original.model_copy(update={"topic_prefix": "two"})
    assert copy.topics.raw == "two.mentions.raw"
    assert copy.sentiment_consumer_group == "two.sentiment"
