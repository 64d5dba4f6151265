"""PHI detection and redaction for free text (HIPAA Safe Harbor identifiers), and the reply guard.

``detect(text)`` returns typed, scored spans; ``redact(text)`` replaces them (``[PHONE]``).
Services that know the practice's staff build ``PhiDetector(staff=...)`` and inject it.
See docs/privacy.md for what is detected, how, and how well.
"""

from common.phi.detector import PhiDetector, default_detector, detect, resolve
from common.phi.detector import redact_text as redact
from common.phi.spans import STRUCTURED, PhiType, Span

__all__ = ["STRUCTURED", "PhiDetector", "PhiType", "Span", "default_detector", "detect", "redact", "resolve"]
