"""The reputation score of a location or provider: a recency- and source-weighted Bayesian average.

    score = (C * m + sum_i w_i * r_i) / (C + sum_i w_i)
    w_i   = s(source_i) * 2 ** (-age_days_i / H)

- ``r_i``: the review's rating on 1-5 (the source's own rating; for posts without one, the
  model's star estimate).
- ``H``: the half-life (default 180 days): a review from six months ago counts half.
- ``s``: trust in the source.  Review platforms where the author is a patient of that practice
  count fully; open social posts, whose author may never have been one, count half.
- ``m``: the prior mean, the practice's own weighted average over all its groups, so a new
  location with two five-star reviews scores near the practice's mean rather than a perfect 5.
- ``C``: the prior weight (default 5 reviews' worth).

The score shrinks small samples towards the practice's mean and forgets slowly; the weighted
review count is returned with it so the dashboard can show how much evidence stands behind it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.search.store.base import RatingCell

SOURCE_WEIGHTS: dict[str, float] = {
    "google": 1.0,
    "yelp": 1.0,
    "healthgrades": 1.0,
    "ratemds": 1.0,
    "vitals": 1.0,
    "zocdoc": 1.0,
    "webmd": 1.0,
    "facebook": 1.0,
    "import": 1.0,
    "reddit": 0.5,
    "mastodon": 0.5,
    "bluesky": 0.5,
    "rss": 0.5,
    "news": 0.5,
}
DEFAULT_SOURCE_WEIGHT = 0.75


@dataclass(frozen=True)
class ReputationScore:
    key: str
    score: float
    reviews: int
    weighted_reviews: float
    raw_average: float


def _recency(month: datetime, now: datetime, half_life_days: float) -> float:
    middle = month + timedelta(days=15)  # a monthly cell stands for its middle
    age_days = max(0.0, (now - middle).total_seconds() / 86400)
    return float(2 ** (-age_days / half_life_days))


def reputation_scores(
    cells: Iterable[RatingCell], *, half_life_days: float, prior_weight: float, now: datetime | None = None
) -> list[ReputationScore]:
    now = now or datetime.now(UTC)
    weighted_sum: dict[str, float] = defaultdict(float)
    weight: dict[str, float] = defaultdict(float)
    raw_sum: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for cell in cells:
        w = SOURCE_WEIGHTS.get(cell.source, DEFAULT_SOURCE_WEIGHT) * _recency(cell.month, now, half_life_days)
        # A cell holds `count` reviews summing to `rating_sum`; each gets the cell's weight.
        weighted_sum[cell.group] += w * cell.rating_sum
        weight[cell.group] += w * cell.count
        raw_sum[cell.group] += cell.rating_sum
        count[cell.group] += cell.count
    total_weight = sum(weight.values())
    prior = sum(weighted_sum.values()) / total_weight if total_weight else 0.0
    scores = [
        ReputationScore(
            key=group,
            score=round((prior_weight * prior + weighted_sum[group]) / (prior_weight + weight[group]), 3),
            reviews=count[group],
            weighted_reviews=round(weight[group], 2),
            raw_average=round(raw_sum[group] / count[group], 3),
        )
        for group in count
    ]
    return sorted(scores, key=lambda s: (-s.score, s.key))
