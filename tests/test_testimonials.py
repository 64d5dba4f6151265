"""Testimonials against the real engines: candidates, decisions, HIPAA authorisations, the public feed.

Mentions are written through the mention store (the indexer's own path) with known sentiments,
so these assertions do not depend on the model.  The whole module runs once per engine
(Elasticsearch and OpenSearch), each on its own alias, dropped at the end.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.schema import Mention, MentionIn, ScoredMention, SentimentResult
from services.search.app import create_app
from services.search.store.engines import connect
from services.search.testimonials.ranking import MAX_CHARS, rank
from services.search.testimonials.store import EngineCurationStore
from tests.conftest import ENGINE_URLS, _engine_store

TENANT = "testimonials-" + uuid.uuid4().hex[:8]
OTHER = "testimonials-rival-" + uuid.uuid4().hex[:8]
ADMIN = "tm-admin-" + uuid.uuid4().hex
MARKETER = "tm-marketer-" + uuid.uuid4().hex
VIEWER = "tm-viewer-" + uuid.uuid4().hex
OTHER_ADMIN = "tm-other-admin-" + uuid.uuid4().hex
PATIENT = "Jacqueline Testpatient-" + uuid.uuid4().hex[:6]

NOW = datetime.now(UTC)

SPECIFIC = (
    "The technologist explained every step of my MRI before we started, I was called in exactly on time, "
    "and the radiologist's report was in my portal the next morning."
)
GENERIC = "Great place, great people, great experience overall. Would recommend it!"
NEGATIVE = "Waited three hours past my appointment for a CT scan and nobody at the front desk apologised."
XSS = (
    "<script>alert(1)</script> The ultrasound tech was gentle, warmed the gel, and explained "
    "what she was looking for & why."
)


def scored(
    text: str,
    *,
    tenant: str = TENANT,
    location: str = "main",
    rating: float | None = 5,
    label: str = "positive",
    p: float = 0.95,
    topics: tuple[str, ...] = (),
    aspects: float = 4.0,
    days_ago: int = 10,
    basis: str = "text",
    flags: tuple[str, ...] = (),
    author: str | None = "Sam R.",
    external_id: str | None = None,
    updated_days_ago: int | None = None,
) -> ScoredMention:
    published = NOW - timedelta(days=days_ago)
    submitted = MentionIn(
        source="google",
        location=location,
        external_id=external_id or uuid.uuid4().hex,
        author=author,
        text=text,
        rating=rating,
        published_at=published,
        updated_at=NOW - timedelta(days=updated_days_ago) if updated_days_ago is not None else None,
    )
    mention = Mention.from_submission(submitted, tenant=tenant, now=published + timedelta(hours=1))
    rest = (1 - p) / 2
    probabilities = {"negative": rest, "neutral": rest, "positive": rest}
    probabilities[label] = p
    return ScoredMention(
        **mention.model_dump(),
        sentiment=SentimentResult(
            label=label,  # type: ignore[arg-type]
            probabilities=probabilities,  # type: ignore[arg-type]
            stars=rating,
            aspects={"staff": aspects, "punctuality": aspects, "helpfulness": aspects, "knowledge": aspects},
            topics=list(topics),
            topic_scores={t: 0.8 for t in topics},
            basis=basis,  # type: ignore[arg-type]
            flags=list(flags),
            model="fixture",
            model_version="0",
        ),
        scored_at=NOW,
    )


class Env:
    def __init__(self, client: Any, store: Any, curation: EngineCurationStore) -> None:
        self.client = client
        self.store = store
        self.curation = curation

    def add(self, *mentions: ScoredMention) -> list[str]:
        report = self.store.upsert(list(mentions))
        assert not report.failed and report.written == len(mentions), report
        self.store.refresh()
        return [m.id for m in mentions]

    def call(self, method: str, path: str, key: str | None = MARKETER, body: Any = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return self.client.open(path, method=method, headers=headers, json=body, query_string=params)

    def get(self, path: str, key: str | None = MARKETER, **params: Any) -> Any:
        return self.call("GET", path, key, **params)

    def post(self, path: str, body: Any = None, key: str | None = MARKETER) -> Any:
        return self.call("POST", path, key, body=body if body is not None else {})

    # --- the flow --------------------------------------------------------------------------
    def approve(self, mention_id: str, key: str = MARKETER) -> Any:
        return self.post(f"/v1/testimonials/{mention_id}/decision", {"decision": "approve"}, key)

    def authorise(self, mention_id: str, key: str = ADMIN, **overrides: Any) -> Any:
        return self.post("/v1/authorisations", authorisation(mention_id, **overrides), key)

    def publish(self, mention_id: str, key: str = MARKETER) -> Any:
        return self.post(f"/v1/testimonials/{mention_id}/publish", key=key)

    def feed(self, tenant: str = TENANT, kind: str = "json", **params: Any) -> Any:
        return self.client.get(f"/public/{tenant}/testimonials.{kind}", query_string=params)

    def feed_ids(self, tenant: str = TENANT) -> list[str]:
        response = self.feed(tenant)
        assert response.status_code == 200
        return [item["id"] for item in response.get_json()["testimonials"]]


def authorisation(mention_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "mention_id": mention_id,
        "patient_name": PATIENT,
        "description": "The text of my Google review and its star rating, and my first name.",
        "disclosed_by": "Northside Imaging",
        "disclosed_to": "The public, on the practice's website and social media",
        "purpose": "Marketing: testimonial on the practice's website",
        "signed_at": (NOW - timedelta(days=2)).date().isoformat(),
        "expires_at": (NOW + timedelta(days=365)).date().isoformat(),
        "signature": "typed_name",
        "document_ref": "dms://authorisations/2026/0042.pdf",
        "show_author_name": True,
        "right_to_revoke_explained": True,
        "no_conditioning_explained": True,
        "redisclosure_explained": True,
    }
    body.update(overrides)
    return body


@pytest.fixture(scope="session", autouse=True)
def _drop_curation_indices_of_the_shared_stores(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The session's other apps create curation indices next to the shared aliases; drop them at the end."""
    yield
    for engine in ("elasticsearch", "opensearch"):
        client = connect(engine, [ENGINE_URLS[engine]])  # type: ignore[arg-type]
        for alias in (settings.index_alias, f"{settings.index_alias}-{engine}"):
            EngineCurationStore(client, alias).drop()


@pytest.fixture(scope="module", params=["elasticsearch", "opensearch"])
def env(request: pytest.FixtureRequest, settings) -> Iterator[Env]:  # type: ignore[no-untyped-def]
    engine = request.param
    alias = f"{settings.index_alias}-tm-{engine}"
    store = _engine_store(settings.model_copy(update={"index_alias": alias}), engine)
    keys = ",".join(
        [
            f"{ADMIN}={TENANT}:admin",
            f"{MARKETER}={TENANT}:marketer",
            f"{VIEWER}={TENANT}:viewer",
            f"{OTHER_ADMIN}={OTHER}:admin",
        ]
    )
    curation = EngineCurationStore(store.engine, alias)
    app = create_app(
        settings.model_copy(update={"api_keys": keys, "index_alias": alias}), store=store, curation=curation
    )
    yield Env(app.test_client(), store, curation)
    curation.drop()
    store.drop()


# --- candidates -------------------------------------------------------------------------------


def test_candidates_show_the_identifiers_in_their_text(env: Env) -> None:
    loc = "phi-" + uuid.uuid4().hex[:6]
    (with_phi,) = env.add(
        scored(
            "The technologist was so patient with my mother Margarethe Oyelaran during her MRI on 04/02/2026. "
            "Call me at 555-310-2299 if you want a reference!",
            location=loc,
            topics=("technologist",),
        )
    )
    items = env.get("/v1/testimonials/candidates", location=loc).get_json()["items"]
    (item,) = [i for i in items if i["mention"]["id"] == with_phi]
    kinds = {span["type"] for span in item["phi"]}
    assert {"NAME", "PHONE", "DATE"} <= kinds, kinds
    text = item["mention"]["text"]
    assert any(text[s["start"] : s["end"]] == "555-310-2299" for s in item["phi"])
    assert any("contains identifiers" in reason for reason in item["reasons"])


def test_candidates_are_positive_undecided_and_ranked_by_quality(env: Env) -> None:
    loc = "ranking-" + uuid.uuid4().hex[:6]
    specific, generic, negative, short, flagged, low_rating, too_long, other = env.add(
        scored(SPECIFIC, location=loc, topics=("technologist", "waiting_time", "results_report"), aspects=4.6, p=0.93),
        scored(GENERIC, location=loc, rating=4, p=0.99, aspects=4.0),
        scored(NEGATIVE, location=loc, rating=1, label="negative", p=0.97, topics=("waiting_time",)),
        scored("Great!", location=loc),
        scored(SPECIFIC + " (flagged copy)", location=loc, basis="rating", flags=("unsupported_language",)),
        scored(SPECIFIC + " (two stars)", location=loc, rating=2, topics=("technologist",)),
        scored("Wonderful staff. " * 100, location=loc, topics=("front_desk_staff",)),
        scored(SPECIFIC + " (rival)", tenant=OTHER, location=loc, topics=("technologist",)),
    )
    response = env.get("/v1/testimonials/candidates", location=loc)
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    ids = [item["mention"]["id"] for item in items]
    assert ids == [specific, generic], "the specific 5-star review first; negatives and the rest never"
    assert all(item["mention"]["sentiment"]["label"] == "positive" for item in items)
    assert not {negative, short, flagged, low_rating, too_long, other} & set(ids)
    qualities = [item["quality"] for item in items]
    assert qualities == sorted(qualities, reverse=True) and 0 < qualities[-1] < qualities[0] <= 1
    assert any("technologist" in reason for reason in items[0]["reasons"])
    assert "5-star rating" in items[0]["reasons"]

    # Deciding removes a mention from the candidates; a viewer may not curate.
    assert (
        env.post(f"/v1/testimonials/{generic}/decision", {"decision": "reject", "reason": "too vague"}).status_code
        == 201
    )
    assert [i["mention"]["id"] for i in env.get("/v1/testimonials/candidates", location=loc).get_json()["items"]] == [
        specific
    ]
    assert env.get("/v1/testimonials/candidates", key=VIEWER).status_code == 403
    assert env.get("/v1/testimonials/candidates", key=None).status_code == 401
    assert env.get("/v1/testimonials/candidates", limit=0).status_code == 400


def test_ranking_formula_prefers_specific_reviews_and_bounds_length() -> None:
    base = {"sentiment": {"label": "positive", "basis": "text", "flags": [], "probabilities": {"positive": 0.95}}}
    when = (NOW - timedelta(days=30)).isoformat()
    specific = {
        **base,
        "id": "a",
        "text": SPECIFIC,
        "rating": 5,
        "published_at": when,
        "sentiment": {**base["sentiment"], "topics": ["technologist", "waiting_time"], "aspects": {"staff": 4.8}},
    }
    generic = {**base, "id": "b", "text": GENERIC, "rating": 5, "published_at": when}
    too_long = {**specific, "id": "c", "text": "x" * (MAX_CHARS + 1)}
    ranked = rank([generic, specific, too_long], NOW, 10)
    assert [r.mention["id"] for r in ranked] == ["a", "b"]
    assert set(ranked[0].components) == {"confidence", "specificity", "length", "rating", "recency"}


# --- decisions --------------------------------------------------------------------------------


def test_a_rejection_needs_a_reason_and_every_decision_is_audited(env: Env) -> None:
    (mention,) = env.add(scored(SPECIFIC + " (decisions)", location="decisions"))
    path = f"/v1/testimonials/{mention}/decision"
    missing = env.post(path, {"decision": "reject"})
    assert missing.status_code == 422
    assert missing.get_json()["error"]["code"] == "validation_failed"
    too_long = env.post(path, {"decision": "reject", "reason": "x" * 501})
    assert too_long.status_code == 422 and too_long.get_json()["error"]["details"][0]["field"] == "reason"
    assert env.post(path, {"decision": "maybe"}).status_code == 422
    assert env.post(path, {"decision": "approve", "extra": 1}).status_code == 422
    assert env.client.post(path, data="{", headers={"Authorization": f"Bearer {MARKETER}"}).status_code == 415
    bad_json = env.client.post(
        path, data="{", content_type="application/json", headers={"Authorization": f"Bearer {MARKETER}"}
    )
    assert bad_json.status_code == 400
    assert env.post("/v1/testimonials/not-an-id/decision", {"decision": "approve"}).status_code == 400
    assert env.post(f"/v1/testimonials/{'0' * 32}/decision", {"decision": "approve"}).status_code == 404
    assert env.post(path, {"decision": "approve"}, key=VIEWER).status_code == 403

    assert env.post(path, {"decision": "reject", "reason": "mentions a staff member by name"}).status_code == 201
    approved = env.approve(mention)
    assert approved.status_code == 200
    record = approved.get_json()
    assert record["status"] == "approved"
    fingerprint = hashlib.sha256(MARKETER.encode()).hexdigest()[:12]
    assert record["decided_by"] == fingerprint
    assert [(h["action"], h["reason"], h["actor"]) for h in record["history"]] == [
        ("reject", "mentions a staff member by name", fingerprint),
        ("approve", None, fingerprint),
    ]
    assert MARKETER not in json.dumps(record)
    listed = env.get("/v1/testimonials", status="approved").get_json()["items"]
    assert mention in [item["mention_id"] for item in listed]
    assert mention not in [
        item["mention_id"] for item in env.get("/v1/testimonials", status="rejected").get_json()["items"]
    ]
    assert env.get("/v1/testimonials", status="bogus").status_code == 400


def test_negative_reviews_cannot_be_approved_and_stay_in_analytics(env: Env) -> None:
    loc = "analytics-" + uuid.uuid4().hex[:6]
    (negative,) = env.add(scored(NEGATIVE, location=loc, rating=1, label="negative"))
    refused = env.approve(negative)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "not_publishable"
    # Curation never hides anything from search or statistics (no review suppression).
    found = env.get("/v1/mentions", sentiment="negative", location=loc).get_json()
    assert [item["id"] for item in found["items"]] == [negative]
    stats = env.get("/v1/stats", location=loc).get_json()
    assert {b["key"]: b["count"] for b in stats["by_sentiment"]} == {"negative": 1}


# --- authorisations and publishing ------------------------------------------------------------


def test_authorisations_record_the_hipaa_elements(env: Env) -> None:
    (mention,) = env.add(scored(SPECIFIC + " (authorisation)", location="auth"))
    assert env.authorise(mention, key=MARKETER).status_code == 403
    changes: list[tuple[str, Any]] = [
        ("right_to_revoke_explained", False),
        ("no_conditioning_explained", False),
        ("expires_at", (NOW - timedelta(days=30)).date().isoformat()),  # before signed_at
        ("signed_at", (NOW + timedelta(days=3)).date().isoformat()),
        ("signature", "a squiggle"),
        ("patient_name", ""),
        ("expires_at", "when I say so"),
    ]
    for field, value in changes:
        refused = env.post("/v1/authorisations", authorisation(mention, **{field: value}), key=ADMIN)
        assert refused.status_code == 422, field
        assert PATIENT not in refused.get_data(as_text=True)
    missing = {k: v for k, v in authorisation(mention).items() if k != "purpose"}
    response = env.post("/v1/authorisations", missing, key=ADMIN)
    assert response.status_code == 422 and response.get_json()["error"]["details"][0]["field"] == "purpose"
    assert env.authorise("0" * 32).status_code == 404

    created = env.authorise(mention)
    assert created.status_code == 201, created.get_json()
    record = created.get_json()
    assert record["state"] == "valid" and record["patient_name"] == PATIENT
    expires = datetime.fromisoformat(record["expires_at"])
    assert datetime.fromisoformat(record["retain_until"]) == expires.replace(year=expires.year + 6)
    # Marketers see whether it is valid, not who signed.
    as_marketer = env.get("/v1/authorisations", mention_id=mention).get_json()["items"]
    assert [a["id"] for a in as_marketer] == [record["id"]]
    assert as_marketer[0]["patient_name"] is None and as_marketer[0]["state"] == "valid"
    assert env.get(f"/v1/authorisations/{record['id']}", key=ADMIN).get_json()["patient_name"] == PATIENT
    assert env.get("/v1/authorisations", key=VIEWER).status_code == 403


def test_publishing_needs_approval_and_a_valid_authorisation(env: Env) -> None:
    (mention,) = env.add(scored(SPECIFIC + " (publish)", location="publish", author="Dana K."))
    not_approved = env.publish(mention)
    assert not_approved.status_code == 409 and not_approved.get_json()["error"]["code"] == "not_approved"
    assert env.approve(mention).status_code == 201
    missing = env.publish(mention)
    assert missing.status_code == 409 and missing.get_json()["error"]["code"] == "authorisation_missing"
    assert mention not in env.feed_ids()

    assert env.authorise(mention).status_code == 201
    published = env.publish(mention)
    assert published.status_code == 200, published.get_json()
    assert published.get_json()["status"] == "published" and published.get_json()["in_feed"] is True
    assert env.publish(mention).status_code == 200  # idempotent
    again = env.approve(mention)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "published"

    feed = env.feed().get_json()
    item = next(i for i in feed["testimonials"] if i["id"] == mention)
    assert item["text"] == SPECIFIC + " (publish)" and item["rating"] == 5 and item["author"] == "Dana K."
    assert "Not a complete list" in feed["note"]
    widget = env.feed(kind="html").get_data(as_text=True)
    assert "the radiologist&#x27;s report was in my portal" in widget and "Dana K." in widget
    jsonld = env.feed(kind="jsonld")
    assert jsonld.mimetype == "application/ld+json"
    review = next(r for r in jsonld.get_json()["@graph"] if r["reviewBody"] == SPECIFIC + " (publish)")
    assert review["@type"] == "Review"
    assert review["reviewRating"] == {"@type": "Rating", "ratingValue": 5, "bestRating": 5, "worstRating": 1}
    assert review["author"] == {"@type": "Person", "name": "Dana K."}
    assert review["itemReviewed"]["@type"] == "MedicalBusiness" and review["itemReviewed"]["name"] == TENANT
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", review["datePublished"])
    assert mention in [i["mention_id"] for i in env.get("/v1/testimonials", status="published").get_json()["items"]]

    unpublished = env.post(f"/v1/testimonials/{mention}/unpublish", {"reason": "campaign over"})
    assert unpublished.status_code == 200 and unpublished.get_json()["status"] == "approved"
    assert mention not in env.feed_ids()
    assert env.post(f"/v1/testimonials/{mention}/unpublish").status_code == 409


def test_author_name_only_with_permission(env: Env) -> None:
    (mention,) = env.add(scored(SPECIFIC + " (anonymous)", location="anon", author="Private Person"))
    env.approve(mention)
    assert env.authorise(mention, show_author_name=False).status_code == 201
    assert env.publish(mention).status_code == 200
    item = next(i for i in env.feed().get_json()["testimonials"] if i["id"] == mention)
    assert item["author"] is None
    assert "Private Person" not in env.feed(kind="html").get_data(as_text=True)
    review = next(r for r in env.feed(kind="jsonld").get_json()["@graph"] if r["reviewBody"].endswith("(anonymous)"))
    assert "author" not in review


def test_revocation_removes_the_testimonial_from_the_feed_at_once(env: Env) -> None:
    (mention,) = env.add(scored(SPECIFIC + " (revoked)", location="revoke"))
    env.approve(mention)
    authorisation_id = env.authorise(mention).get_json()["id"]
    assert env.publish(mention).status_code == 200
    assert mention in env.feed_ids()

    path = f"/v1/authorisations/{authorisation_id}/revoke"
    assert env.post(path, {"reason": "patient asked"}, key=MARKETER).status_code == 403
    assert env.post(path, {"revoked_at": (NOW - timedelta(days=30)).date().isoformat()}, key=ADMIN).status_code == 422
    revoked = env.post(path, {"reason": "patient asked by phone, written notice on file"}, key=ADMIN)
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert mention not in env.feed_ids()
    assert env.post(path, {}, key=ADMIN).get_json()["error"]["code"] == "already_revoked"
    assert env.get(f"/v1/testimonials/{mention}").get_json()["status"] == "approved"
    refused = env.publish(mention)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "authorisation_revoked"
    # The record stays (retention): revoked, not deleted.
    kept = env.get("/v1/authorisations", key=ADMIN, mention_id=mention).get_json()["items"]
    assert [(a["id"], a["state"]) for a in kept] == [(authorisation_id, "revoked")]


def test_the_feed_rechecks_validity_at_read_time(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    (mention,) = env.add(scored(SPECIFIC + " (expires)", location="expiry"))
    env.approve(mention)
    expired = env.authorise(
        mention,
        signed_at=(NOW - timedelta(days=400)).date().isoformat(),
        expires_at=(NOW - timedelta(days=35)).date().isoformat(),
    )
    assert expired.status_code == 201 and expired.get_json()["state"] == "expired"
    refused = env.publish(mention)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "authorisation_expired"

    # A valid authorisation that has since expired: published yesterday, gone from today's feed.
    tomorrow = (NOW + timedelta(days=1)).date().isoformat()
    assert env.authorise(mention, expires_at=tomorrow).status_code == 201
    assert env.publish(mention).status_code == 200
    assert mention in env.feed_ids()
    from services.search.testimonials import public

    later = NOW + timedelta(days=3)
    monkeypatch.setattr(
        public, "datetime", type("Clock", (datetime,), {"now": classmethod(lambda cls, tz=None: later)})
    )
    assert mention not in env.feed_ids()


def test_the_edited_review_needs_a_new_decision(env: Env) -> None:
    external = uuid.uuid4().hex
    (mention,) = env.add(scored(SPECIFIC + " (v1)", location="edits", external_id=external, days_ago=5))
    env.approve(mention)
    env.authorise(mention)
    env.add(scored(SPECIFIC + " (v2, edited)", location="edits", external_id=external, days_ago=5, updated_days_ago=1))
    refused = env.publish(mention)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "mention_changed"


# --- tenants and privacy ----------------------------------------------------------------------


def test_another_practice_can_neither_curate_nor_see(env: Env) -> None:
    (mention,) = env.add(scored(SPECIFIC + " (tenancy)", location="tenancy"))
    env.approve(mention)
    authorisation_id = env.authorise(mention).get_json()["id"]
    assert env.publish(mention).status_code == 200

    decide = env.post(f"/v1/testimonials/{mention}/decision", {"decision": "reject", "reason": "x"}, key=OTHER_ADMIN)
    assert decide.status_code == 404
    assert env.publish(mention, key=OTHER_ADMIN).status_code == 404
    assert env.post(f"/v1/testimonials/{mention}/unpublish", key=OTHER_ADMIN).status_code == 404
    assert env.get(f"/v1/testimonials/{mention}", key=OTHER_ADMIN).status_code == 404
    assert env.authorise(mention, key=OTHER_ADMIN).status_code == 404
    assert env.get(f"/v1/authorisations/{authorisation_id}", key=OTHER_ADMIN).status_code == 404
    assert env.post(f"/v1/authorisations/{authorisation_id}/revoke", {}, key=OTHER_ADMIN).status_code == 404
    for path in ("/v1/testimonials", "/v1/authorisations", "/v1/testimonials/candidates"):
        body = env.get(path, key=OTHER_ADMIN).get_json()
        assert mention not in json.dumps(body), path
    assert mention not in env.feed_ids(OTHER)
    assert mention in env.feed_ids(TENANT)


def test_public_outputs_never_contain_the_patient_name(env: Env) -> None:
    (mention,) = env.add(scored(SPECIFIC + " (privacy)", location="privacy"))
    env.approve(mention)
    env.authorise(mention)
    assert env.publish(mention).status_code == 200
    for kind in ("json", "html", "jsonld"):
        response = env.feed(kind=kind)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert mention in env.feed_ids() and PATIENT not in body, kind
        assert "dms://" not in body and "Marketing:" not in body, kind


def test_the_widget_escapes_review_text_and_runs_no_scripts(env: Env) -> None:
    (mention,) = env.add(scored(XSS, location="xss", author="<img src=x onerror=alert(2)>"))
    env.approve(mention)
    env.authorise(mention)
    assert env.publish(mention).status_code == 200
    response = env.feed(kind="html")
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert any(item["text"] == XSS for item in env.feed().get_json()["testimonials"])  # JSON keeps the text as is


def test_the_feed_is_cacheable_with_a_strong_etag(env: Env) -> None:
    (mention,) = env.add(scored(SPECIFIC + " (cache)", location="cache"))
    env.approve(mention)
    env.authorise(mention)
    env.publish(mention)
    for kind in ("json", "html", "jsonld"):
        first = env.feed(kind=kind)
        etag = first.headers["ETag"]
        assert first.status_code == 200 and etag.startswith('"') and not etag.startswith("W/")
        assert first.headers["Cache-Control"] == "public, max-age=60"
        cached = env.client.get(f"/public/{TENANT}/testimonials.{kind}", headers={"If-None-Match": etag})
        assert cached.status_code == 304 and cached.get_data() == b"" and cached.headers["ETag"] == etag
        stale = env.client.get(f"/public/{TENANT}/testimonials.{kind}", headers={"If-None-Match": '"other"'})
        assert stale.status_code == 200
    before = env.feed().headers["ETag"]
    env.post(f"/v1/testimonials/{mention}/unpublish")
    changed = env.client.get(f"/public/{TENANT}/testimonials.json", headers={"If-None-Match": before})
    assert changed.status_code == 200 and changed.headers["ETag"] != before


def test_unknown_practices_get_an_empty_feed(env: Env) -> None:
    for tenant in ("no-such-practice", "NOT a slug!", OTHER):
        response = env.feed(tenant)
        assert response.status_code == 200
        assert response.get_json()["testimonials"] == []
        assert env.feed(tenant, "jsonld").get_json()["@graph"] == []
        assert env.feed(tenant, "html").status_code == 200
    assert env.feed(limit=0).status_code == 400


def test_concurrent_updates_cannot_lose_a_history_entry(env: Env) -> None:
    from services.search.store.records import Conflict

    (mention,) = env.add(scored(SPECIFIC + " (race)", location="race"))
    env.approve(mention)
    first = env.curation.get_testimonial(TENANT, mention)
    second = env.curation.get_testimonial(TENANT, mention)
    assert first is not None and second is not None
    env.curation.save_testimonial(first.record.model_copy(update={"reason": "first"}), first)
    with pytest.raises(Conflict):
        env.curation.save_testimonial(second.record.model_copy(update={"reason": "second"}), second)
    with pytest.raises(Conflict):
        env.curation.save_testimonial(first.record, None)  # creating an existing record
    assert env.curation.get_testimonial(OTHER, mention) is None
