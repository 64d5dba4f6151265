"""The search service's PHI detector, built once per app from the practice settings.

Shared by the reply guard and the testimonial candidates so both know the same staff names.
"""

from __future__ import annotations

from flask import current_app

from common.phi import PhiDetector
from common.settings import Settings

_KEY = "radar.phi_detector"


def build_detector(settings: Settings) -> PhiDetector:
    return PhiDetector(settings.staff_names, min_confidence=settings.privacy_min_confidence)


def phi_detector() -> PhiDetector:
    detector: PhiDetector | None = current_app.extensions.get(_KEY)
    if detector is None:
        detector = build_detector(current_app.extensions["radar.settings"])
        current_app.extensions[_KEY] = detector
    return detector
