"""Language identification, so non-English text is flagged instead of scored as English.

The model was trained on English reviews only; its output on Spanish or French text would look
like an answer and mean nothing.  py3langid ships its model in the wheel (offline, ~7,000 texts/s
on one core).  Short texts ("Great MRI!") are identified poorly by any character n-gram model, so
a text is flagged only when English is clearly unlikely; an uncertain text is treated as
English, which the overwhelming majority of reviews for US practices are.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

SUPPORTED = frozenset({"en"})
MIN_LETTERS = 15  # below this, n-gram identification is noise
MAX_ENGLISH_PROBABILITY = 0.05  # flag as non-English only when English is this unlikely
# Restricting the candidates to languages patients of US practices write in keeps the
# probability mass from leaking to close relatives (Spanish to Aragonese or Extremaduran).
CANDIDATES = (
    "en",
    "es",
    "fr",
    "de",
    "it",
    "pt",
    "nl",
    "pl",
    "ru",
    "uk",
    "zh",
    "ja",
    "ko",
    "vi",
    "tl",
    "ar",
    "he",
    "hi",
    "fa",
    "ht",
    "el",
    "tr",
)


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    code: str | None  # ISO 639-1, or None when the text is too short or the guess uncertain
    confidence: float

    @property
    def supported(self) -> bool:
        """Whether the model may score this text (unknown counts as English, see module doc)."""
        return self.code is None or self.code in SUPPORTED


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CANDIDATES))
    return identifier


def identify(text: str, declared: str | None = None) -> LanguageGuess:
    """The language of ``text``; a language the source declared wins over the guess."""
    if declared:
        return LanguageGuess(declared.split("-")[0].lower(), 1.0)
    if sum(ch.isalpha() for ch in text[:2000]) < MIN_LETTERS:
        return LanguageGuess(None, 0.0)
    ranked = _identifier().rank(text[:5000])
    code, confidence = ranked[0]
    english = next((p for c, p in ranked if c == "en"), 0.0)
    if code == "en" or english < MAX_ENGLISH_PROBABILITY:
        return LanguageGuess(str(code), float(confidence))
    return LanguageGuess(None, float(confidence))  # torn between English and something else
