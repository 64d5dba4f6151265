"""Keyword-matching baseline for the radiology topics (training/topics/evaluate.py).

A topic is assigned when any of its regular expressions matches the lower-cased review.  The
lists were written from the topic definitions in README.md (the labelling guide), before looking
at the evaluation half; no tuning.  Note that the enriched labelling stratum was drawn with
similar keywords (sample_for_labelling.py), which flatters this baseline on that stratum.
"""

from __future__ import annotations

import re

KEYWORDS: dict[str, list[str]] = {
    "front_desk_staff": [
        r"\bstaff\b",
        r"\breceptionist",
        r"\bfront (desk|office)\b",
        r"\bnurses?\b",
        r"\bassistants?\b",
        r"\breception\b",
        r"\bteam\b",
        r"\bcheck[- ]?in\b",
    ],
    "scheduling_access": [
        r"\bschedul",
        r"\bappointments? (was|were) (easy|hard|difficult)",
        r"\bget (me )?in\b",
        r"\bgot (me )?in\b",
        r"\breschedul",
        r"\bcancel",
        r"\bbook(ed|ing)?\b",
        r"\bparking\b",
        r"\blocation\b",
        r"\bsame day\b",
        r"\bcall(ed)? back\b",
        r"\breturn(ed)? (my |our )?calls?\b",
        r"\bavailab",
    ],
    "waiting_time": [
        r"\bwait(ed|ing)?\b",
        r"\bpunctual",
        r"\bon time\b",
        r"\brunning late\b",
        r"\blate\b",
        r"\bhours? (late|wait)",
        r"\bwaiting room\b",
    ],
    "billing_insurance": [
        r"\bbill(s|ed|ing)?\b",
        r"\binsurance\b",
        r"\bcharg(e|ed|es|ing)\b",
        r"\bco-?pay",
        r"\bcost",
        r"\bexpensive\b",
        r"\bprice",
        r"\bpaid\b",
        r"\bpay(ing|ment)?\b",
        r"\$\d",
        r"\bmoney\b",
        r"\baffordable\b",
    ],
    "technologist": [
        r"\btechnologists?\b",
        r"\btechnicians?\b",
        r"\btechs?\b",
        r"\bsonographer",
        r"\bphlebotomist",
        r"\bx-?ray (staff|tech)",
        r"\bdrew (my )?blood\b",
        r"\bblood draw",
    ],
    "facility_equipment": [
        r"\bclean\b",
        r"\bdirty\b",
        r"\bfacility\b",
        r"\bequipment\b",
        r"\bmachines?\b",
        r"\bmodern\b",
        r"\bstate[- ]of[- ]the[- ]art\b",
        r"\bbuilding\b",
        r"\bwaiting (room|area) (is|was) (clean|dirty|nice|comfortable)",
        r"\btechnology\b",
        r"\bhigh[- ]tech\b",
    ],
    "results_report": [
        r"\bresults? of (my|the) (test|scan|mri|x-?ray|blood|biopsy|ultrasound)",
        r"\btest results?\b",
        r"\b(lab|blood|biopsy|scan|mri|x-?ray|ultrasound) results?\b",
        r"\breport\b",
        r"\bfindings\b",
        r"\b(mri|ct|scan|x-?ray|ultrasound|mammogram)s? (showed|revealed|found|disclosed)",
        r"\bblood ?work\b",
        r"\bcalled (me )?with (the |my )?results\b",
    ],
    "radiologist_communication": [
        r"\bexplain",
        r"\blisten",
        r"\banswer(ed|s)? (all )?(of )?(my|our|your|any) questions\b",
        r"\bquestions\b",
        r"\bbedside manner",
        r"\btook (the )?time\b",
        r"\btakes (the |his |her )?time\b",
        r"\brush(ed)?\b",
        r"\bdismissive\b",
        r"\bcondescending\b",
        r"\beasy to talk to\b",
        r"\bcommunicat",
    ],
    "pain_comfort": [
        r"\bpainless\b",
        r"\bpainful\b",
        r"\bhurt\b",
        r"\bat ease\b",
        r"\bcomfortable\b",
        r"\buncomfortable\b",
        r"\bgentle\b",
        r"\bnervous\b",
        r"\banxi(ety|ous)\b",
        r"\breassur",
        r"\bclaustrophob",
        r"\bcalm",
        r"\bdidn'?t feel a thing\b",
        r"\bscared\b",
    ],
}

_COMPILED = {t: [re.compile(p) for p in ps] for t, ps in KEYWORDS.items()}


def keyword_topics(text: str) -> set[str]:
    low = text.lower()
    return {t for t, rxs in _COMPILED.items() if any(rx.search(low) for rx in rxs)}
