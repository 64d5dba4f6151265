"""A deleted review: kept in the index under its id, left out of default search and statistics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from services.search.store.base import SearchRequest, StatsRequest
from services.search.store.indexed import EngineMentionStore

BASE = datetime(2026, 3, 1, 12, tzinfo=UTC)


def scored(tenant: str, submitted: MentionIn, now: datetime) -> ScoredMention:
    mention = Mention.from_submission(submitted, tenant=tenant, now=now)
    return ScoredMention(
        **mention.model_dump(),
        sentiment=SentimentResult(
            label="negative", probabilities={"negative": 0.9}, model="fixture", model_version="0"
        ),
        scored_at=now,
    )


def test_a_deletion_replaces_the_review_and_hides_it_from_search_and_stats(store: EngineMentionStore) -> None:
    tenant = "del-" + uuid.uuid4().hex[:8]
    review = MentionIn(
        source="google", external_id="gone-1", text="Fictional review about a long wait.", rating=1, published_at=BASE
    )
    kept = MentionIn(
        source="google", external_id="kept-1", text="Fictional review, fine visit.", rating=4, published_at=BASE
    )
    deletion = MentionIn(source="google", external_id="gone-1", deleted_at=BASE + timedelta(days=2))
    assert deletion.text == "" and deletion.rating is None  # a deletion needs no content

    store.upsert([scored(tenant, review, BASE), scored(tenant, kept, BASE)])
    store.upsert([scored(tenant, deletion, BASE + timedelta(days=2))])
    # A late replay of the original (older version) must not resurrect it.
    report = store.upsert([scored(tenant, review, BASE)])
    assert report.written == 0
    store.refresh()

    gone_id = Mention.from_submission(review, tenant=tenant).id
    stored = store.get(tenant, gone_id)
    assert stored is not None and stored["deleted_at"] is not None
    page = store.search(tenant, SearchRequest())
    assert [h.mention["external_id"] for h in page.hits] == ["kept-1"]
    assert store.stats(tenant, StatsRequest()).total == 1


def test_deleted_at_is_written_only_when_set() -> None:
    kept = Mention.from_submission(MentionIn(source="google", external_id="k", text="Fictional."), tenant="t")
    assert "deleted_at" not in kept.model_dump_json() and "deleted_at" not in kept.model_dump(mode="json")
    gone = Mention.from_submission(MentionIn(source="google", external_id="k", deleted_at=BASE), tenant="t")
    assert Mention.model_validate_json(gone.model_dump_json()).deleted_at == BASE
    assert gone.id == kept.id and gone.revision_time == BASE
