"""Sentences with their offsets, and the word windows the learned model reads of a long one."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# An emoji before a new capitalised sentence ends one too: "you are so welcome ❤️ A bone density scan..."
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|\n+|[\U0001F300-\U0001FAFF\u2600-\u27BF]\ufe0f?(?=\s+[A-Z])")


_ABBREVIATION = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Mx|Prof|St|Sr|Jr|vs|etc|e\.g|i\.e|Ste|Apt|No|a\.m|p\.m|[A-Z])$")


# The encoder reads 128 word pieces (about 90 words), but a disclosure diluted among 40 words of
# thanks was missed in a test, so a run-on sentence is read in
# overlapping windows of WINDOW_WORDS words (a short sentence is one window, itself), and the
# sentence is flagged when any window is. A reply that needs more than MAX_MODEL_WINDOWS distinct
# windows (a review site's reply holds about 4 000 characters, some 40 sentences) is refused as
# too long to check rather than read in part. Sentences without a letter are not read.
WINDOW_WORDS = 24


MIN_CLAUSE_WORDS = 4


_CLAUSE = re.compile(r"\s*[,;:]\s*(?:and|but|so|because|although|though|while)?\s*|\s+(?:and|but)\s+", re.IGNORECASE)


WINDOW_OVERLAP = 8


def sentence_windows(sentence: str) -> list[str]:
    """The sentence itself when short, else overlapping word windows covering all of it, and its clauses.

    A disclosure of eight words in a window of 24 reads, to the encoder, mostly like the thanks around
    it; the clauses of a run-on sentence ("..., and the lump turned out to be a harmless cyst") are
    read on their own as well."""
    words = sentence.split()
    if len(words) <= WINDOW_WORDS:
        return [sentence]
    step = WINDOW_WORDS - WINDOW_OVERLAP
    windows = [" ".join(words[i : i + WINDOW_WORDS]) for i in range(0, len(words) - WINDOW_OVERLAP, step)]
    clauses = [c.strip() for c in _CLAUSE.split(sentence)]
    extra = [c for c in clauses if len(c.split()) >= MIN_CLAUSE_WORDS and len(c.split()) <= WINDOW_WORDS]
    return list(dict.fromkeys([*windows, *extra]))


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str


def split_sentences(text: str) -> Iterator[Sentence]:
    """Sentences with their offsets; "Dr. Patel" and "a.m." do not end one."""
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group()[0] == "." and _ABBREVIATION.search(text, 0, m.start()):
            continue
        if text[start : m.end()].strip():
            yield Sentence(start, m.end(), text[start : m.end()])
        start = m.end()
    if text[start:].strip():
        yield Sentence(start, len(text), text[start:])
