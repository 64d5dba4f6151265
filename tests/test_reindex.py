"""A mapping change ships as a new index, a copy and an atomic alias swap, on both engines."""

from __future__ import annotations

import uuid

import pytest

from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from services.search.store.base import SearchRequest
from services.search.store.engines import connect
from services.search.store.indexed import EngineMentionStore
from tests.conftest import ENGINE_URLS


def scored(tenant: str, i: int, rating: float) -> ScoredMention:
    mention = Mention.from_submission(
        MentionIn(source="google", external_id=f"r{i}", text=f"Review {i} about the MRI", rating=rating), tenant=tenant
    )
    result = SentimentResult(
        label="positive", probabilities={"positive": 1.0}, stars=rating, model="t", model_version="0"
    )
    return ScoredMention(**mention.model_dump(), sentiment=result, scored_at=mention.ingested_at)


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_reindex_moves_the_alias_and_keeps_every_document(engine: str, stack: None) -> None:
    store = EngineMentionStore(connect(engine, [ENGINE_URLS[engine]]), f"test-reindex-{uuid.uuid4().hex[:8]}")  # type: ignore[arg-type]
    store.ensure_schema()
    try:
        store.upsert([scored("t", i, 5) for i in range(1203)])
        store.refresh()
        report = store.reindex()
        assert (report.old_index, report.new_index) == (store.index_name(1), store.index_name(2))
        assert report.copied == report.documents == 1203
        assert store.current_index() == store.index_name(2)
        assert store.search("t", SearchRequest(q="mri", size=1)).total == 1203

        # Writes after the swap land in the new index, and versions survived the copy: an older
        # revision of a copied document is still refused.
        assert store.upsert([scored("t", 5000, 3)]).written == 1
        stale = scored("t", 0, 1).model_copy(update={"fetched_at": scored("t", 0, 1).fetched_at.replace(year=2001)})
        assert store.upsert([stale]).stale == 1

        again = store.reindex(delete_old=True)
        assert again.new_index == store.index_name(3) and again.deleted_old
        assert not store.engine.index_exists(store.index_name(2))
        with pytest.raises(ValueError, match="already exists"):
            store.reindex(3)
    finally:
        store.drop()


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_processes_starting_together_all_find_the_index(engine: str) -> None:
    """The search API's workers and the indexer create the schema at the same moment at start-up."""
    import threading

    alias = f"startup-race-{uuid.uuid4().hex[:6]}"
    errors: list[str] = []

    def start() -> None:
        try:
            EngineMentionStore(connect(engine, [ENGINE_URLS[engine]]), alias).ensure_schema()  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(repr(exc)[:200])

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = EngineMentionStore(connect(engine, [ENGINE_URLS[engine]]), alias)  # type: ignore[arg-type]
    try:
        assert errors == []
        assert store.current_index() == store.index_name()
    finally:
        store.drop()
