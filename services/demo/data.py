"""A synthetic demo practice: reviews and posts written by the team, never by patients.

Every sentence below was written for this demo.  Mentions are assembled from them with a fixed
seed (the same demo every time), spread over the last four months, three sites, four
radiologists, four sources and two competitors, with ratings that mostly agree with the words
(and sometimes do not, as in life).  The practice's display name says the data is synthetic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

DEMO_TENANT = "demo-practice"
DISPLAY_NAME = "Demo Imaging Center (synthetic demo data)"
LOCATIONS = ["downtown", "northgate", "lakeside-campus"]
PROVIDERS = ["dr-okafor", "dr-lindqvist", "dr-ramanathan", "dr-castellano"]
STAFF = ["Dr. Okafor", "Dr. Lindqvist", "Dr. Ramanathan", "Dr. Castellano"]
COMPETITORS = [("harbor-imaging", "Harbor Imaging"), ("metro-radiology", "Metro Radiology")]

POSITIVE = [
    "The technologist explained every step of my MRI and checked on me through the intercom.",
    "I was taken back within five minutes of my appointment time.",
    "Front desk staff were warm and got my insurance sorted in a minute.",
    "My mammogram was quick and far less uncomfortable than I expected.",
    "The radiologist called the same afternoon to go over my CT results.",
    "Clean, calm waiting room and free parking right by the door.",
    "Scheduling online was easy and they had a slot the next morning.",
    "They gave me a warm blanket and headphones during the scan.",
    "The ultrasound tech was gentle and patient with my nervous kid.",
    "Results were in the portal by the evening with a clear report.",
    "Billing was transparent; the price they quoted is what I paid.",
    "Best imaging experience I have had, and I have had a lot of them.",
]
NEGATIVE = [
    "I waited over an hour past my appointment and nobody told us why.",
    "The front desk was rude when I asked how long the wait would be.",
    "I was billed twice for the same ultrasound and it took weeks to fix.",
    "Nobody called with my results; I had to chase them for ten days.",
    "The MRI machine was loud and the tech did not offer ear plugs.",
    "They lost my referral and I had to reschedule my CT scan.",
    "The IV placement for contrast hurt and took three tries.",
    "Parking was a nightmare and the signs sent me to the wrong building.",
    "The report used jargon and the radiologist never explained it.",
    "My insurance was accepted on the phone, then rejected at check-in.",
]
NEUTRAL = [
    "The scan itself was fine, nothing special either way.",
    "Average visit, the wait was about what they said.",
    "Hard to find the entrance but the staff pointed me in the right direction.",
    "The building is older, but everything worked.",
    "Got my X-ray done; the report took a couple of days.",
]
POST_OPENERS = [
    "Anyone been to Demo Imaging for an MRI?",
    "Quick PSA for people getting scans in town:",
    "Update on my imaging saga:",
]

SOURCES = [("google", 0.45), ("yelp", 0.2), ("healthgrades", 0.2), ("reddit", 0.15)]


@dataclass(frozen=True)
class DemoPlan:
    mentions: list[dict[str, Any]]
    profile: dict[str, Any]


def _pick_source(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for source, weight in SOURCES:
        total += weight
        if roll < total:
            return source
    return SOURCES[-1][0]


def _mention(rng: random.Random, index: int, now: datetime, competitor: str | None) -> dict[str, Any]:
    mood = rng.choices(["positive", "negative", "neutral"], weights=[0.66, 0.22, 0.12])[0]
    pool = {"positive": POSITIVE, "negative": NEGATIVE, "neutral": NEUTRAL}[mood]
    sentences = rng.sample(pool, k=rng.choice([1, 2, 2, 3]))
    if mood == "negative" and rng.random() < 0.2:
        sentences.append(rng.choice(POSITIVE))  # mixed reviews exist
    source = _pick_source(rng)
    published = now - timedelta(days=rng.uniform(0, 120), minutes=rng.randint(0, 600))
    mention: dict[str, Any] = {
        "source": source,
        "external_id": f"demo-{competitor or 'own'}-{index}",
        "text": " ".join(sentences),
        "published_at": published.isoformat(),
        "author": f"{rng.choice('ABCDEFGHJKLMNPRSTW')}. {rng.choice(['', 'S', 'M', 'R', 'T'])}".strip(),
    }
    if source == "reddit":
        mention["kind"] = "post"
        mention["text"] = f"{rng.choice(POST_OPENERS)} {mention['text']}"
        mention["url"] = f"https://www.reddit.com/r/demo/comments/demo{index}/"
    else:
        base = {"positive": 4.7, "negative": 1.8, "neutral": 3.2}[mood]
        mention["rating"] = float(max(1, min(5, round(base + rng.gauss(0, 0.7)))))
        mention["url"] = f"https://example.com/{source}/review/{index}"
    if competitor:
        mention["competitor"] = competitor
    else:
        mention["location"] = rng.choice(LOCATIONS)
        if rng.random() < 0.5:
            mention["provider"] = rng.choice(PROVIDERS)
    return mention


def demo_plan(now: datetime, own: int = 300, per_competitor: int = 60, seed: int = 20261128) -> DemoPlan:
    """The demo's mentions (as ``POST /v1/mentions`` items) and its practice profile."""
    rng = random.Random(seed)
    mentions = [_mention(rng, i, now, None) for i in range(own)]
    for competitor, _ in COMPETITORS:
        mentions += [_mention(rng, i, now, competitor) for i in range(per_competitor)]
    profile = {
        "display_name": DISPLAY_NAME,
        "website": "https://example.com/demo-imaging",
        "time_zone": "America/Chicago",
        "competitors": [{"id": cid, "name": name} for cid, name in COMPETITORS],
        "staff": STAFF,
        "phone": "(555) 010-0100",
    }
    return DemoPlan(mentions, profile)
