"""Erasing a mention everywhere the product keeps it: ``DELETE /v1/mentions/<mention_id>`` (admin).

A patient may ask a practice to take their words out of its systems, or a review may have been
submitted by mistake.  Erasure removes the content from every store the search service owns and
leaves only a marker with the id, so nothing can bring it back:

- the mentions index: the document is replaced by an erasure marker (see ``EngineMentionStore.erase``);
  replays from Kafka and connectors that fetch it again are rejected as stale;
- the curation record, which holds a copy of the review (the HIPAA authorisation records stay:
  the rule requires keeping them six years, and they hold no review text);
- the alerts it raised keep their history (who acknowledged and resolved what) but lose the
  excerpt and the link; a scored copy still queued for the alert evaluator raises nothing (it
  asks ``is_erased`` before raising, services/alerts/evaluator.py);
- Kafka: the raw and scored topics hold copies until the topics' retention expires (see
  docs/privacy.md); consumers replaying them cannot resurrect the mention (above);
- the public feed's HTTP caches (``max-age`` 60 s) expire within a minute.

Each erasure is an audit record (``mentions.erase``) with the id and the acting key, no text.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from common.auth import Role
from common.http import ApiError, current_principal, requires
from services.alerts.store import AlertStore
from services.search.store.base import MentionStore, StoreUnavailable
from services.search.testimonials.store import CurationStore

blueprint = Blueprint("erasure", __name__)

_HEX = set("0123456789abcdef")


@blueprint.delete("/v1/mentions/<mention_id>")
@requires(Role.admin)
def erase_mention(mention_id: str) -> Response:
    if len(mention_id) != 32 or not set(mention_id) <= _HEX:
        raise ApiError(400, "invalid_id", "a mention id is 32 lower-case hexadecimal characters")
    tenant = current_principal().tenant
    mentions: MentionStore = current_app.extensions["radar.store"]
    curation: CurationStore = current_app.extensions["radar.curation"]
    alerts: AlertStore = current_app.extensions["radar.alerts"]
    try:
        # Idempotent: a retry after a partial failure (the index marker written, a copy not yet
        # removed) finishes the job instead of answering "gone".
        if not mentions.erase(tenant, mention_id) and not mentions.is_erased(tenant, mention_id):
            raise ApiError(404, "not_found", "no such mention for this practice")
        curation_removed = curation.erase_mention(tenant, mention_id)
        alerts_blanked = alerts.erase_mention(tenant, mention_id)
    except StoreUnavailable:
        raise ApiError(503, "search_unavailable", "the search engine is unavailable; retry shortly") from None
    return jsonify(
        {
            "erased": mention_id,
            "removed_from": [
                "index",
                *(["testimonials"] if curation_removed else []),
                *(["alerts"] if alerts_blanked else []),
            ],
            "kafka": "copies on the mention topics expire with the topics' retention; replays cannot restore it",
        }
    )
