"""``POST /v1/replies/check``: is this draft reply to a review safe to post?

The guard is built on first use from the settings (staff allow-list, practice phone), or
injected by putting a ``ReplyGuard`` in ``app.extensions["radar.reply_guard"]``.  Neither the
reply, the review nor anything found in them is logged.
"""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, current_app, jsonify

from common.auth import Role
from common.http import read_model_body, requires
from common.phi.replies import ReplyGuard
from common.settings import Settings
from services.search.phi import phi_detector
from services.search.replies.models import ReplyCheckIn, ReplyCheckResult

blueprint = Blueprint("replies", __name__)

_KEY = "radar.reply_guard"


def reply_guard() -> ReplyGuard:
    guard: ReplyGuard | None = current_app.extensions.get(_KEY)
    if guard is None:
        settings: Settings = current_app.extensions["radar.settings"]
        guard = ReplyGuard(phi_detector(), practice_phone=settings.privacy_practice_phone or None)
        current_app.extensions[_KEY] = guard
    return guard


@blueprint.post("/v1/replies/check")
@requires(Role.marketer)
def check_reply() -> Response:
    body = read_model_body(ReplyCheckIn)
    result = reply_guard().check(body.reply, review=body.review, reviewer_display_name=body.reviewer_display_name)
    out = ReplyCheckResult.model_validate(
        {"safe": result.safe, "findings": [asdict(f) for f in result.findings], "suggestion": result.suggestion}
    )
    return jsonify(out.model_dump(mode="json"))
