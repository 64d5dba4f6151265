"""The search service's PHI detectors: one per practice, knowing its staff.

The staff allow-list is the deployment's ``RADAR_PRIVACY_STAFF_NAMES`` plus the practice
profile's ``staff``; the reply guard's phone number is the profile's ``phone`` (else the
deployment's ``RADAR_PRIVACY_PRACTICE_PHONE``).  Built detectors are kept per practice and
rebuilt when its profile changes.  Shared by the reply guard and the testimonial candidates.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from flask import current_app

from common.phi import PhiDetector
from common.phi.replies import ReplyGuard
from common.settings import Settings
from services.search.practice.store import PracticeStore
from services.search.replies.classifier import LazyReplyClassifier
from services.sentiment.model import ModelIntegrityError, verify_directory

log = logging.getLogger(__name__)

_KEY = "radar.phi_guards"
_CACHED_PRACTICES = 256


class PracticeGuards:
    """Per-practice detector and reply guard, cached by the profile they were built from."""

    def __init__(self, settings: Settings, practices: PracticeStore) -> None:
        self._settings = settings
        self._practices = practices
        self._cache: OrderedDict[str, tuple[tuple[object, ...], PhiDetector, ReplyGuard]] = OrderedDict()
        self._lock = threading.Lock()
        self._model_verified = False

    def detector(self, tenant: str) -> PhiDetector:
        return self._get(tenant)[1]

    def reply_model_ok(self) -> bool:
        """Whether the reply guard's model files are there and match their checksums.

        Readiness asks this so that an image or volume without the model fails its probe. The
        guard itself would answer 503 on every check. Once the files verify, the answer is
        cached: hashing 23 MB on every probe would cost CPU for nothing."""
        if self._model_verified:
            return True
        try:
            verify_directory(self._settings.reply_model_dir)
            verify_directory(self._settings.topic_model_dir)
        except ModelIntegrityError as exc:
            log.warning("reply guard model not ready: %s", exc)
            return False
        self._model_verified = True
        return True

    def guard(self, tenant: str) -> ReplyGuard:
        return self._get(tenant)[2]

    def _get(self, tenant: str) -> tuple[tuple[object, ...], PhiDetector, ReplyGuard]:
        profile = self._practices.get(tenant)
        staff = [*self._settings.staff_names, *profile.staff]
        phone = profile.phone or self._settings.privacy_practice_phone or None
        website = str(profile.website) if profile.website else None
        key = (tuple(staff), phone, tuple(profile.contacts), website)
        with self._lock:
            cached = self._cache.get(tenant)
            if cached is not None and cached[0] == key:
                self._cache.move_to_end(tenant)
                return cached
        detector = PhiDetector(staff, min_confidence=self._settings.privacy_min_confidence)
        classifier = LazyReplyClassifier(self._settings.reply_model_dir, self._settings.topic_model_dir)
        guard = ReplyGuard(
            detector,
            practice_phone=phone,
            classifier=classifier,
            practice_contacts=profile.contacts,
            practice_website=website,
        )
        built = (key, detector, guard)
        with self._lock:
            self._cache[tenant] = built
            while len(self._cache) > _CACHED_PRACTICES:
                self._cache.popitem(last=False)
        return built


def practice_guards() -> PracticeGuards:
    guards: PracticeGuards | None = current_app.extensions.get(_KEY)
    if guards is None:
        guards = PracticeGuards(current_app.extensions["radar.settings"], current_app.extensions["radar.practice"])
        current_app.extensions[_KEY] = guards
    return guards
