"""What the learned classifier reads of a sentence, the same in training and at inference."""

from __future__ import annotations

import re

from common.phi.names import StaffAllowList
from common.phi.replies.people import _STAFF_CANDIDATE, _display_name_words
from common.phi.replies.vocabulary import _I


def model_input(sentence: str, staff: StaffAllowList, display_name: str | None) -> str:
    """A sentence as the classifier reads it, in training and at inference (``ReplyGuard.model_view``).

    Besides the staff and display-name masks, a refusal to discuss care in public and a warning not
    to post details here are written in one plain form: the rules already know them for refusals,
    and in their own words ("we can't discuss anyone's care publicly") the classifier hears a
    discussion of care in public."""
    text = mask_display_name(mask_staff(sentence, staff), display_name)
    text = _REFUSAL.sub("we keep everyone's care private", text)
    return _DONT_POST.sub("please keep personal details private", text)


_REFUSAL = re.compile(
    r"\b(?:we|I)\s+(?:can't|cannot|can\s+not|won't|will\s+not|don't|do\s+not|never|(?:are|am|'re|'m)\s+"
    r"(?:not\s+able|unable)\s+to|aren't\s+able\s+to)\s+(?:\w+\s+){0,2}?(?:discuss|comment\s+on|talk\s+about|"
    r"share|review|interpret|confirm|respond\s+to|address)\b[^.!?;,]*?\b(?:here|publicly|online|in\s+public|"
    r"on\s+(?:a|this|any)\s+(?:public\s+)?(?:site|forum|platform|page)|in\s+this\s+forum|on\s+review\s+sites)\b",
    _I,
)


_DONT_POST = re.compile(
    r"\b(?:please\s+)?(?:don't|do\s+not|never)\s+(?:post|share|include|put)\s+(?:[\w-]+\s+){0,4}?"
    r"(?:here|online|publicly|in\s+(?:a|the|this|your)\s+(?:review|reply|comment|thread))\b",
    _I,
)


def mask_display_name(sentence: str, display_name: str | None) -> str:
    """``sentence`` with the words of the reviewer's display name (and a title before them) written "friend"."""
    words = _display_name_words(display_name)
    if not words:
        return sentence
    names = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = rf"(?:\b(?:Mr|Mrs|Ms|Mx|Dr|Miss)\.?\s+)?\b(?:{names})\b(?:\s+\b(?:{names})\b)*"
    return re.sub(pattern, "friend", sentence, flags=re.IGNORECASE if display_name and display_name.isupper() else 0)


def mask_staff(sentence: str, staff: StaffAllowList) -> str:
    """``sentence`` with each name on the staff allow-list (and its title) written as "our colleague"."""
    if not len(staff):
        return sentence

    def masked(m: re.Match[str]) -> str:
        return "our colleague" if m.group("name") in staff else m.group()

    return _STAFF_CANDIDATE.sub(masked, sentence)
