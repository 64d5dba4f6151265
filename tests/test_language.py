"""Language identification decides what the English-only model may score."""

from __future__ import annotations

import pytest

from services.sentiment.language import identify

# Written by the team for these tests.
SPANISH = "La recepcionista fue muy grosera y esperé dos horas para mi resonancia magnética."
FRENCH = "Le technicien était très gentil, mais j'ai attendu une heure avant mon échographie."
GERMAN = "Sehr freundliches Personal, aber die Wartezeit für das MRT war viel zu lang."
ENGLISH = "The technologist was gentle and explained every step of my mammogram."


@pytest.mark.parametrize(("text", "code"), [(SPANISH, "es"), (FRENCH, "fr"), (GERMAN, "de")])
def test_confident_non_english_is_not_supported(text: str, code: str) -> None:
    guess = identify(text)
    assert guess.code == code and not guess.supported


def test_english_is_supported() -> None:
    guess = identify(ENGLISH)
    assert guess.code == "en" and guess.supported


@pytest.mark.parametrize("text", ["Great MRI!", "ok", "", "😀👍🙏", "5 stars"])
def test_short_or_symbolic_text_is_not_guessed(text: str) -> None:
    guess = identify(text)
    assert guess.code is None and guess.supported, "too little text to tell: score it as English"


def test_a_language_declared_by_the_source_wins() -> None:
    assert identify(ENGLISH, declared="es-MX").code == "es"
    assert identify(SPANISH, declared="en").supported
