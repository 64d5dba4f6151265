"""Generate the reply guard's synthetic evaluation set (``replies.jsonl``).

Replies are assembled from sentences written by the team: safe openers, policy statements and
invitations to call, with zero or more unsafe sentences of each category mixed in (the reply's
``reasons`` are the categories of the unsafe sentences it contains), plus the hand-written
replies in ``handwritten_replies.jsonl`` (some modelled on the HHS OCR enforcement cases; their
``modelled_on`` names the case).  Seeded, so the file is reproducible.  The ``heldout`` split
draws on its own sentence lists and fillers and was not used to tune the rules.
``heldout2`` is a second, hand-written held-out batch, written after the first held-out
measurement and before any change that followed it, never used for tuning.

    python evaluation/phi/generate_replies.py   # rewrites evaluation/phi/replies.jsonl
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 11

SAFE: dict[str, dict[str, list[str]]] = {
    "dev": {
        "open": [
            "Thank you for your feedback.",
            "Thank you for taking the time to write this review.",
            "We appreciate you sharing your thoughts.",
            "Thanks so much for the kind words!",
            "We're sorry to hear you're disappointed.",
            "We're sorry to read this.",
            "We hear you, and we take comments like this seriously.",
            "Hi {DISPLAY}, thank you for the review.",
            "Thank you, {DISPLAY}!",
        ],
        "policy": [
            "Privacy laws prevent us from discussing any individual's care in a public forum.",
            "We aim to report every exam within one business day.",
            "Our technologists are trained to make every patient as comfortable as possible.",
            "We accept most major insurance plans, and our billing team is happy to answer questions.",
            "We review all feedback with our team every week.",
            "Wait times are something we are actively working to improve.",
            "We offer an open MRI for patients who feel claustrophobic.",
            "Every patient deserves respectful, on-time care.",
            "We will share your kind words with our whole team.",
            "Our goal is to provide excellent imaging services to our community.",
        ],
        "invite": [
            "Please call our office at {PHONE} and ask for the practice manager.",
            "Please contact our patient experience team at {PHONE} so we can learn more.",
            "We would welcome the chance to talk; please call us at {PHONE}.",
            "Feel free to call us any time at {PHONE}.",
            "If you'd like to talk, please call our office.",
            "Please call our office so we can discuss your concerns privately.",
        ],
    },
    "heldout": {
        "open": [
            "We appreciate your review.",
            "Thanks for letting us know.",
            "We're grateful you took a moment to post this.",
            "We're sorry this fell short of what you expected.",
            "Hello {DISPLAY}, thanks for writing.",
        ],
        "policy": [
            "Because of federal privacy rules, we never confirm or discuss anyone's care online.",
            "Our radiologists are board certified and read studies seven days a week.",
            "We have added evening and weekend hours to shorten waits.",
            "Questions about costs are always best handled by phone with our billing specialists.",
            "Comfort and dignity are at the heart of how we work.",
            "We'll pass your compliments on to the team.",
        ],
        "invite": [
            "Our patient advocate can be reached at {PHONE}.",
            "Please reach out to our office manager at {EMAIL}.",
            "We'd like to hear more; please give us a call at {PHONE}.",
            "Please call the main line and ask for the practice manager.",
        ],
    },
}

UNSAFE: dict[str, dict[str, list[str]]] = {
    "dev": {
        "patient_confirmation": [
            "We reviewed your chart and everything was done according to protocol.",
            "Our records show you arrived {N} minutes late for your appointment.",
            "As a long-time patient, you know we always do our best.",
            "We checked your file and your referral was received on time.",
            "We hope to see you at your next appointment.",
            "You were seen by our radiologist within the hour.",
            "Our front desk called you twice to reschedule.",
            "According to our system, you cancelled twice.",
            "We're sorry your wait was longer than usual.",
            "It was a pleasure scanning you!",
        ],
        "clinical_detail": [
            "Your {PROC} showed a small {COND} that your doctor will follow up on.",
            "We understand {COND} can make an {PROC} difficult, which is why we offered you sedation.",
            "The {COND} on your report was reviewed by two radiologists.",
            "Your results were normal, so no follow-up was needed.",
            "Given your history of {COND}, the contrast was necessary.",
            "Your mother's {PROC} had to be repeated because she moved.",
            "She was very anxious about her {PROC}, and we did our best.",
        ],
        "appointment_detail": [
            "Your appointment on {DATE} was rescheduled by the hospital, not by us.",
            "You were booked for {TIME} on {WEEKDAY} and arrived late.",
            "We see that you came in on {DATE}.",
            "We're sorry about the delay on {WEEKDAY} morning.",
        ],
        "financial_detail": [
            "Your insurance ({INSURER}) denied the claim, which is why you received a bill.",
            "The ${AMOUNT} balance is your deductible, not an error.",
            "We refunded ${AMOUNT} to your card.",
            "Your copay was ${AMOUNT} as quoted.",
            "{INSURER} requires prior authorization for your {PROC}, which your doctor did not obtain.",
            "Your account was sent to collections after three statements.",
        ],
        "naming": [
            "Dear {FULLNAME}, we're sorry about your experience.",
            "Mr. {LAST}, we remember you well.",
            "{FULLNAME}, we spoke on the phone and I thought we resolved this.",
            "Your husband {FIRST} was very kind to our staff.",
        ],
        "public_discussion": [
            "We're happy to explain here what really happened.",
            "To set the record straight, the delay was caused by a late arrival.",
            "For the record, our staff followed every protocol.",
            "Please reply here with your date of birth so we can look you up.",
            "Contrary to what your review says, we called you three times.",
        ],
        "phi": [
            "We mailed the form to {ADDRESS}.",
            "Your MRN is {MRN} if you need it for the portal.",
        ],
    },
    "heldout": {
        "patient_confirmation": [
            "We looked into your visit and the tech followed the standard process.",
            "Our notes indicate you declined the gown.",
            "We were happy to take care of you and your family again.",
            "Since you have been our patient for years, we were surprised by this review.",
            "We apologize that your check-in took so long.",
        ],
        "clinical_detail": [
            "The {PROC} was stopped because of your {COND}.",
            "We know your {COND} diagnosis has been hard on you.",
            "He needed a second {PROC} because the first images were blurry.",
            "Your biopsy came back clear.",
        ],
        "appointment_detail": [
            "You were here on {DATE} at {TIME}.",
            "We had you scheduled for {WEEKDAY} at {TIME}.",
        ],
        "financial_detail": [
            "The estimate we gave you was ${AMOUNT} before insurance.",
            "{INSURER} paid its share and the remaining ${AMOUNT} is yours.",
            "Your plan is out-of-network for us, as we explained.",
        ],
        "naming": [
            "{FIRST}, we are sorry you feel this way.",
            "Mrs. {LAST}, thank you for the note.",
            "We know this review is from {FULLNAME}.",
        ],
        "public_discussion": [
            "We want to clarify for other readers what happened in this case.",
            "The facts of this case are different from what is described.",
            "Please post your member number here so we can check.",
        ],
        "phi": ["We have your number as {PATIENT_PHONE} on file."],
    },
}

FILL: dict[str, dict[str, list[str]]] = {
    "dev": {
        "PROC": ["MRI", "CT scan", "ultrasound", "mammogram", "x-ray", "bone density scan"],
        "COND": ["cyst", "fracture", "herniated disc", "claustrophobia", "kidney stone", "nodule"],
        "INSURER": ["Aetna", "Blue Cross", "Medicare", "Cigna"],
        "FIRST": ["Robert", "Maria", "James", "Linda", "Karen", "Thomas", "Susan"],
        "LAST": ["Gonzalez", "Johnson", "Nguyen", "Kowalski", "Rivera", "Murphy"],
        "DISPLAY": ["Kim R.", "BigJim", "Sam", "T.", "happy_camper", "Jen"],
        "WEEKDAY": ["Monday", "Tuesday", "Friday"],
        "TIME": ["9:30", "8 am", "2:15 pm"],
    },
    "heldout": {
        "PROC": ["PET scan", "arthrogram", "DEXA scan", "MRA", "fluoroscopy study"],
        "COND": ["aneurysm", "anxiety", "tumor", "stenosis", "pregnancy"],
        "INSURER": ["Humana", "UnitedHealthcare", "Medicaid", "Kaiser"],
        "FIRST": ["Priya", "Tenzin", "Camila", "Dmitri", "Imani"],
        "LAST": ["Haddad", "Lindqvist", "Villanueva", "Okonjo", "Whitaker"],
        "DISPLAY": ["Q", "nana_b", "Jo", "RunnerGirl"],
        "WEEKDAY": ["Wednesday", "Thursday", "Saturday"],
        "TIME": ["10:45", "7:30 am", "4 pm"],
    },
}


def _fill(sentence: str, rng: random.Random, split: str, display: str) -> str:
    pool = FILL[split]
    values = {k: rng.choice(v) for k, v in pool.items()}
    values.update(
        DISPLAY=display,
        FULLNAME=f"{values['FIRST']} {values['LAST']}",
        PHONE="(312) 555-0100",
        EMAIL="manager@northside-imaging.example",
        N=str(rng.randint(15, 50)),
        AMOUNT=f"{rng.randint(20, 2400):,}",
        DATE=rng.choice(["March 3", "June 14th", "10/02/2025", "September 9, 2025"]),
        ADDRESS=f"{rng.randint(10, 9000)} {rng.choice(['Oak', 'Elm', 'Lincoln'])} Street",
        MRN=f"{rng.randint(10_000_000, 99_999_999)}",
        PATIENT_PHONE=f"(773) 555-01{rng.randint(10, 99)}",
    )
    for key, value in values.items():
        sentence = sentence.replace("{" + key + "}", value)
    return sentence


def generate() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    records: list[dict[str, Any]] = []
    for split, n_safe, n_unsafe in (("dev", 90, 110), ("heldout", 45, 55)):
        safe, unsafe = SAFE[split], UNSAFE[split]
        categories = sorted(unsafe)
        for i in range(n_safe + n_unsafe):
            display = rng.choice(FILL[split]["DISPLAY"])
            parts = [rng.choice(safe["open"])]
            if rng.random() < 0.7:
                parts.append(rng.choice(safe["policy"]))
            reasons: list[str] = []
            if i >= n_safe:
                picked = [categories[i % len(categories)]]
                if rng.random() < 0.3:
                    picked.append(rng.choice(categories))
                for category in dict.fromkeys(picked):
                    parts.insert(rng.randint(1, len(parts)), rng.choice(unsafe[category]))
                    reasons.append(category)
            if rng.random() < 0.8:
                parts.append(rng.choice(safe["invite"]))
            reply = " ".join(_fill(p, rng, split, display) for p in parts)
            records.append(
                {
                    "split": split,
                    "origin": "template",
                    "reply": reply,
                    "review": None,
                    "reviewer_display_name": display,
                    "label": "unsafe" if reasons else "safe",
                    "reasons": reasons,
                }
            )
    for line in (HERE / "handwritten_replies.jsonl").read_text(encoding="utf-8").splitlines():
        records.append({"origin": "handwritten", **json.loads(line)})
    for n, record in enumerate(records):
        record["id"] = f"rep-{n:04d}"
        record["synthetic"] = True
    return records


def main() -> None:
    records = generate()
    keys = ("id", "split", "origin", "synthetic", "label", "reasons", "reply", "review", "reviewer_display_name")
    with (HERE / "replies.jsonl").open("w", encoding="utf-8") as out:
        for record in records:
            ordered = {k: record.get(k) for k in keys}
            if "modelled_on" in record:
                ordered["modelled_on"] = record["modelled_on"]
            out.write(json.dumps(ordered, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} replies to {HERE / 'replies.jsonl'}")


if __name__ == "__main__":
    main()
