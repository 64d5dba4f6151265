"""What the detector reports: a typed, scored span of text.

Types follow the HIPAA Safe Harbor identifiers (45 CFR 164.514(b)(2)) that occur in free text.
Offsets are Python string indices (code points), so ``text[span.start:span.end]`` is the match.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PhiType(StrEnum):
    NAME = "NAME"
    DATE = "DATE"
    AGE = "AGE"  # ages over 89 only
    PHONE = "PHONE"
    FAX = "FAX"
    EMAIL = "EMAIL"
    ADDRESS = "ADDRESS"  # street address or PO box
    ZIP = "ZIP"
    SSN = "SSN"
    MRN = "MRN"  # medical record / chart / patient id numbers
    HEALTH_PLAN = "HEALTH_PLAN"  # member, policy, group, claim and beneficiary numbers
    ACCOUNT = "ACCOUNT"
    LICENSE = "LICENSE"  # driver's licence and certificate/licence numbers
    VEHICLE = "VEHICLE"  # VINs and licence plates
    DEVICE = "DEVICE"  # device serial numbers and identifiers
    URL = "URL"
    IP = "IP"


# The identifiers with a fixed shape; the benchmark reports them together against their target.
STRUCTURED: frozenset[PhiType] = frozenset(
    {
        PhiType.PHONE,
        PhiType.FAX,
        PhiType.EMAIL,
        PhiType.SSN,
        PhiType.MRN,
        PhiType.HEALTH_PLAN,
        PhiType.ACCOUNT,
        PhiType.DATE,
    }
)


@dataclass(frozen=True, slots=True)
class Span:
    """One detected identifier: ``text[start:end]`` is of ``type``; ``source`` names the recogniser."""

    start: int
    end: int
    type: PhiType
    confidence: float
    source: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"empty or negative span {self.start}:{self.end}")

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def __len__(self) -> int:
        return self.end - self.start
