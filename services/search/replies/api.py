"""``POST /v1/replies/check``: is this draft reply to a review safe to post?

The guard is the practice's own (``services/search/phi.py``: its staff allow-list and office
phone from the practice profile).  Neither the reply, the review nor anything found in them is
logged.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from flask import Blueprint, Response, jsonify

from common.auth import Role
from common.http import ApiError, current_principal, read_model_body, requires
from common.phi.replies import ReplyTooLongToCheck
from services.search.phi import practice_guards
from services.search.replies.models import ReplyCheckIn, ReplyCheckResult
from services.search.store.base import StoreUnavailable
from services.sentiment.model import ModelIntegrityError

logger = logging.getLogger(__name__)

blueprint = Blueprint("replies", __name__)


@blueprint.post("/v1/replies/check")
@requires(Role.marketer)
def check_reply() -> Response:
    body = read_model_body(ReplyCheckIn)
    try:
        guard = practice_guards().guard(current_principal().tenant)
    except StoreUnavailable:
        raise ApiError(503, "search_unavailable", "the practice profile is unavailable; retry shortly") from None
    try:
        result = guard.check(body.reply, review=body.review, reviewer_display_name=body.reviewer_display_name)
    except ReplyTooLongToCheck as exc:
        raise ApiError(422, "reply_too_long_to_check", f"the reply is too long to check: {exc}") from None
    except ModelIntegrityError as exc:
        # Fail closed: without its learned half the guard would miss what the rules cannot see.
        logger.error("reply guard model unavailable: %s", exc)
        raise ApiError(503, "reply_model_unavailable", "the reply guard's model is unavailable") from None
    out = ReplyCheckResult.model_validate(
        {"safe": result.safe, "findings": [asdict(f) for f in result.findings], "suggestion": result.suggestion}
    )
    return jsonify(out.model_dump(mode="json"))
