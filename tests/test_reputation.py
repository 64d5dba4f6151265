"""The reputation formula, on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.search.reputation import reputation_scores
from services.search.store.base import RatingCell

NOW = datetime(2026, 7, 16, tzinfo=UTC)
THIS_MONTH = datetime(2026, 7, 1, tzinfo=UTC)  # its middle is NOW: weight 1


def cell(group: str, rating_sum: float, count: int, source: str = "google", month: datetime = THIS_MONTH) -> RatingCell:
    return RatingCell(group=group, source=source, month=month, rating_sum=rating_sum, count=count)


def test_small_samples_shrink_towards_the_practice_mean() -> None:
    scores = reputation_scores(
        [cell("new", 10, 2), cell("established", 4.7 * 100, 100)], half_life_days=180, prior_weight=5, now=NOW
    )
    prior = (10 + 470) / 102
    by_key = {s.key: s for s in scores}
    assert by_key["new"].score == pytest.approx((5 * prior + 10) / 7, abs=1e-3)
    assert by_key["new"].raw_average == 5.0
    assert by_key["new"].score < 4.8, "two 5-star reviews stay near the practice's mean, not at 5.0"
    assert by_key["established"].score == pytest.approx(4.7, abs=1e-3), "a large sample speaks for itself"


def test_old_reviews_and_social_posts_count_less() -> None:
    a_year_ago = datetime(2025, 7, 1, tzinfo=UTC)  # ~365 days old: weight 2^(-365/180)
    scores = reputation_scores(
        [cell("a", 1, 1, month=a_year_ago), cell("a", 5, 1), cell("b", 1, 1, source="reddit"), cell("b", 5, 1)],
        half_life_days=180,
        prior_weight=0,
        now=NOW,
    )
    by_key = {s.key: s for s in scores}
    old_weight = 2 ** (-365 / 180)
    assert by_key["a"].score == pytest.approx((old_weight * 1 + 5) / (old_weight + 1), abs=1e-3)
    assert by_key["b"].score == pytest.approx((0.5 * 1 + 5) / 1.5, abs=1e-3)
    assert by_key["a"].raw_average == by_key["b"].raw_average == 3.0
