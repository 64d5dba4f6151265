"""Generate the PHI detector's synthetic evaluation set (``detector.jsonl``).

Every text is invented: templates with varied fillers (seeded, so the file is reproducible)
plus the hand-written texts in ``handwritten_detector.jsonl``.  The ``heldout`` split uses its
own templates and filler pools (names outside the Census lists among them) and was not looked
at while tuning the recognisers; ``dev`` was.  ``heldout2`` is a second, hand-written
held-out batch, written after the first held-out measurement and before any change that
followed it, so that it was never seen by the rules' author while tuning.

    python evaluation/phi/generate_detector.py   # rewrites evaluation/phi/detector.jsonl
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 7

STAFF = json.loads((HERE / "staff.json").read_text())["staff"]

POOLS: dict[str, dict[str, list[str]]] = {
    "dev": {
        "FIRST": [
            "Robert",
            "Maria",
            "James",
            "Patricia",
            "Michael",
            "Jennifer",
            "David",
            "Susan",
            "Carlos",
            "Karen",
            "Thomas",
            "Nancy",
            "Daniel",
            "Betty",
            "Steven",
            "Angela",
            "Kevin",
            "Teresa",
        ],
        "LAST": [
            "Gonzalez",
            "Johnson",
            "Williams",
            "Nguyen",
            "Kowalski",
            "Hernandez",
            "Thompson",
            "Baker",
            "Rivera",
            "Schmidt",
            "Murphy",
            "Fischer",
            "Coleman",
            "Russo",
            "Jenkins",
        ],
        "RELATION": [
            "husband",
            "wife",
            "son",
            "daughter",
            "mother",
            "father",
            "mom",
            "dad",
            "sister",
            "brother",
            "grandson",
            "friend",
        ],
    },
    "heldout": {
        "FIRST": [
            "Priya",
            "Aaliyah",
            "Xiomara",
            "Tenzin",
            "Oluwaseun",
            "Siobhan",
            "Mohammed",
            "Ingrid",
            "Rafael",
            "Yusuf",
            "Camila",
            "Dmitri",
            "Lakshmi",
            "Beatriz",
            "Connor",
            "Imani",
            "Hiroshi",
            "Gwendolyn",
        ],
        "LAST": [
            "Oyelaran",
            "Castellanos",
            "Abernathy",
            "Haddad",
            "Lindqvist",
            "Mbeki",
            "Takahashi",
            "Fitzgerald",
            "Villanueva",
            "Okonjo",
            "Petrovic",
            "Delgado",
            "Whitaker",
            "Brennan",
            "Chowdhury",
        ],
        "RELATION": [
            "wife",
            "partner",
            "stepdaughter",
            "grandmother",
            "uncle",
            "niece",
            "father-in-law",
            "roommate",
            "son",
            "husband",
        ],
    },
}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "Jun", "Aug", "Sept", "Oct", "Nov", "Dec"]
STATES = ["IL", "TX", "CA", "NY", "OH", "GA", "FL", "WA", "AZ", "PA", "MI", "NC"]
STREETS = [
    "Oak",
    "Maple",
    "Lincoln",
    "Washington",
    "Cedar",
    "Sunset",
    "Lake Shore",
    "Park",
    "Hillcrest",
    "Elm",
    "Madison",
    "River",
    "Pleasant Valley",
    "Church",
    "5th",
    "42nd",
]
SUFFIXES = [
    "Street",
    "St",
    "Avenue",
    "Ave",
    "Road",
    "Rd",
    "Drive",
    "Dr",
    "Lane",
    "Ln",
    "Blvd",
    "Court",
    "Way",
    "Pkwy",
    "Place",
]
CITIES = ["Springfield", "Evanston", "Oak Park", "Riverside", "Fairview", "Georgetown", "Madison", "Franklin"]
PROCEDURES = ["MRI", "CT scan", "ultrasound", "mammogram", "x-ray", "DEXA scan", "PET scan", "biopsy"]
FILLER = [
    "The MRI took 45 minutes.",
    "5 stars!",
    "Dr. Patel was great.",
    "Parking was a nightmare.",
    "Waited almost 2 hours.",
    "The front desk was friendly.",
    "Jake was my tech and he was wonderful.",
    "Rated 4/5 overall.",
    "The building is clean and modern.",
    "Results came back in 3 days.",
    "I would recommend them.",
    "Billing is a mess.",
    "Linda at the desk was so patient.",
    "Dr. Okafor called me himself.",
    "Never going back.",
    "Open MRI was a lifesaver for my claustrophobia.",
    "They were running 30 minutes behind.",
    "Will definitely come back.",
    "May I suggest better signage?",
    "Grace under pressure from the whole team.",
    "Thank you Northside Imaging!",
    "Check-in took 10 minutes.",
    "Cost was $250 after insurance.",
    "The CT took about 5 minutes.",
    "Staff wore masks and gloves.",
]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(n))


def phone(rng: random.Random) -> str:
    area, last = rng.choice(["312", "773", "630", "847", "214", "404", "646", "415"]), _digits(rng, 2)
    return rng.choice(
        [
            f"({area}) 555-01{last}",
            f"{area}-555-01{last}",
            f"{area}.555.01{last}",
            f"+1 {area} 555 01{last}",
            f"1-{area}-555-01{last}",
        ]
    )


def date(rng: random.Random) -> str:
    m, d, y = rng.randint(1, 12), rng.randint(1, 28), rng.randint(1935, 2025)
    month = MONTHS[m - 1]
    return rng.choice(
        [
            f"{m}/{d}/{y}",
            f"{m:02d}/{d:02d}/{y}",
            f"{m}-{d}-{str(y)[2:]}",
            f"{y}-{m:02d}-{d:02d}",
            f"{month} {d}",
            f"{month} {d}, {y}",
            f"{month} {d}th" if d > 3 and d < 21 else f"{month} {d}",
            f"{d} {month} {y}",
            f"{rng.choice(MONTH_ABBR)} {d}",
            f"{month} {y}",
        ]
    )


def fill(slot: str, rng: random.Random, pool: dict[str, list[str]]) -> tuple[str, str | None]:
    """A filler for ``slot`` and its gold type (None when it is not PHI)."""
    first, last = rng.choice(pool["FIRST"]), rng.choice(pool["LAST"])
    match slot:
        case "FULLNAME":
            return f"{first} {last}", "NAME"
        case "FIRST":
            return first, "NAME"
        case "LAST":
            return last, "NAME"
        case "INITIALNAME":
            return f"{first} {last[0]}.", "NAME"
        case "RELATION":
            return rng.choice(pool["RELATION"]), None
        case "STAFF":
            return rng.choice(["Dr. Patel", "Jake", "Dr. Okafor", "Linda", "Dr. Anika Patel", "Jake Moreno"]), None
        case "PROC":
            return rng.choice(PROCEDURES), None
        case "DATE":
            return date(rng), "DATE"
        case "AGE":
            return rng.choice(
                [
                    f"{rng.randint(90, 104)} years old",
                    f"{rng.randint(90, 104)}-year-old",
                    f"age {rng.randint(90, 104)}",
                    f"aged {rng.randint(90, 99)}",
                ]
            ), "AGE"
        case "YOUNGAGE":
            return f"{rng.randint(20, 85)} years old", None
        case "PHONE":
            return phone(rng), "PHONE"
        case "FAX":
            return phone(rng), "FAX"
        case "EMAIL":
            user = rng.choice(
                [
                    f"{first.lower()}.{last.lower()}",
                    f"{first[0].lower()}{last.lower()}{_digits(rng, 2)}",
                    f"{first.lower()}_{_digits(rng, 4)}",
                ]
            )
            return f"{user}@{rng.choice(['example.com', 'example.org', 'mail.example.net'])}", "EMAIL"
        case "SSN":
            return rng.choice(
                [
                    f"{rng.randint(100, 665)}-{_digits(rng, 2).replace('00', '12')}-{rng.randint(1000, 9999)}",
                    f"{rng.randint(100, 665)} {rng.randint(10, 99)} {rng.randint(1000, 9999)}",
                ]
            ), "SSN"
        case "MRN":
            return rng.choice([_digits(rng, 8), f"MR{_digits(rng, 7)}", f"{_digits(rng, 3)}-{_digits(rng, 5)}"]), "MRN"
        case "PLAN":
            return rng.choice(
                [f"{_alnum(rng, 3)}{_digits(rng, 9)}", f"W{_digits(rng, 9)}", f"{_digits(rng, 6)}-{_digits(rng, 2)}"]
            ), "HEALTH_PLAN"
        case "ACCOUNT":
            return rng.choice(
                [_digits(rng, 8), f"{_digits(rng, 2)}-{_digits(rng, 6)}", f"A{_digits(rng, 7)}"]
            ), "ACCOUNT"
        case "LICENSE":
            return rng.choice(
                [
                    f"{rng.choice('ABDGKLMS')}{_digits(rng, 3)}-{_digits(rng, 4)}-{_digits(rng, 4)}",
                    f"{rng.choice('ABDGKLMS')}{_digits(rng, 7)}",
                ]
            ), "LICENSE"
        case "PLATE":
            return rng.choice(
                [
                    f"{rng.randint(1, 9)}{_alnum(rng, 3)}{_digits(rng, 3)}",
                    f"{_alnum(rng, 3)} {_digits(rng, 4)}".replace(" ", "-"),
                ]
            ), "VEHICLE"
        case "SERIAL":
            return f"{_alnum(rng, 3)}{_digits(rng, 7)}", "DEVICE"
        case "ADDRESS":
            unit = rng.choice(
                ["", "", f", Apt {rng.randint(1, 40)}{rng.choice('ABC')}", f" Suite {rng.randint(100, 900)}"]
            )
            return f"{rng.randint(2, 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIXES)}{unit}", "ADDRESS"
        case "CITY":
            return rng.choice(CITIES), None
        case "STATE":
            return rng.choice(STATES), None
        case "ZIP":
            return rng.choice(
                [f"{rng.randint(10000, 99999)}", f"{rng.randint(10000, 99999)}-{rng.randint(1000, 9999)}"]
            ), "ZIP"
        case "URL":
            return rng.choice(
                [
                    f"https://www.example-{last.lower()}.com/profile/{_digits(rng, 5)}",
                    f"www.{first.lower()}{last.lower()}.example.org",
                    f"http://example.net/u/{first.lower()}",
                ]
            ), "URL"
        case "IP":
            return rng.choice(
                [
                    f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                    f"2001:db8::{rng.randint(1, 9999):x}",
                ]
            ), "IP"
        case "MONTHNAME":
            return rng.choice(MONTHS), None
    raise KeyError(slot)


TEMPLATES: dict[str, list[str]] = {
    "dev": [
        "My {RELATION} {FULLNAME} had a {PROC} here on {DATE}.",
        "My {RELATION} {FIRST} is {AGE} and the staff were so patient with her.",
        "Call me at {PHONE} if anyone from management actually reads this.",
        "They sent the bill to {EMAIL} instead of my work address.",
        "Billing insists my account number {ACCOUNT} is overdue. It is not.",
        "My MRN is {MRN} and they still lost my images.",
        "The member ID {PLAN} was on file and they still billed me directly.",
        "They mailed my results to {ADDRESS}, {CITY}, {STATE} {ZIP}, which is my old place.",
        "Their form asked for my SSN {SSN} in an open waiting room!",
        "Please fax the report to {FAX}, attention {STAFF}.",
        "The kiosk showed the site {URL} and my IP {IP} in an error message.",
        "Someone hit my car, plate {PLATE}, in the garage and nobody helped.",
        "They needed the serial number {SERIAL} of my implant before the {PROC}.",
        "Driver's license {LICENSE} was photocopied and left at the desk.",
        "{STAFF} was kind. Mrs. {LAST} next to me was not so lucky.",
        "{FULLNAME} here: I waited two hours for a {PROC}.",
        "Went in {DATE} for my {PROC}. {STAFF} was great.",
        "Ask for {STAFF}, not {FIRST}, when you call.",
        "My {RELATION}, {FULLNAME}, was born {DATE} and they still got the birthday wrong.",
        "Horrible scheduling for my {PROC}.\n- {INITIALNAME}",
        "Mr. {LAST} in the waiting room was yelling at the receptionist.",
        "Her name is {FIRST} and she deserves a raise.",
        "My {RELATION} is {YOUNGAGE}, had a {PROC} in {MONTHNAME}, quick and easy.",
    ],
    "heldout": [
        "Took my {RELATION} {FIRST} for a {PROC} on {DATE}; {STAFF} was lovely.",
        "You can reach me on {PHONE} to sort out the invoice.",
        "Records went to {EMAIL} by mistake. Whose email is that??",
        "My medical record number {MRN} belongs to someone else apparently.",
        "Policy number {PLAN} was declined although it is active.",
        "Acct {ACCOUNT} shows a charge for a {PROC} I never had.",
        "Please stop mailing {ADDRESS}, {CITY}, {STATE} {ZIP}. I moved.",
        "Social security number {SSN} printed on a receipt. Unacceptable.",
        "Fax: {FAX} is the number they gave me and it just rings.",
        "{STAFF} was fine but {FULLNAME} at billing hung up on me.",
        "Our patient, sorry, my {RELATION} {FULLNAME}, is {AGE} and needed a wheelchair.",
        "License plate {PLATE} got a ticket in THEIR lot.",
        "Device serial {SERIAL} was needed for the {PROC}; no one told me beforehand.",
        "Visited {URL} from {IP} and it showed another person's report.",
        "Appointment on {DATE} was cancelled without notice.",
        "Ms. {LAST} at reception was wonderful.",
        "Thanks {FIRST} for calming my nerves before the {PROC}!",
        "I am {FULLNAME} and I want my records sent to my new doctor.",
    ],
}


def render(template: str, rng: random.Random, pool: dict[str, list[str]]) -> dict[str, Any]:
    text, gold = "", []
    for piece in re.split(r"(\{[A-Z]+\})", template):
        if piece.startswith("{") and piece.endswith("}"):
            value, kind = fill(piece[1:-1], rng, pool)
            if kind is not None:
                gold.append({"start": len(text), "end": len(text) + len(value), "type": kind})
            text += value
        else:
            text += piece
    return {"text": text, "gold": gold}


def pad(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Surround the text with ordinary review sentences (no PHI) so over-detection shows."""
    before = " ".join(rng.sample(FILLER, rng.randint(0, 2)))
    after = " ".join(rng.sample(FILLER, rng.randint(0, 2)))
    shift = len(before) + 1 if before else 0
    text = (f"{before} " if before else "") + record["text"] + (f" {after}" if after else "")
    gold = [{**g, "start": g["start"] + shift, "end": g["end"] + shift} for g in record["gold"]]
    return {"text": text, "gold": gold}


def handwritten() -> list[dict[str, Any]]:
    out = []
    for line in (HERE / "handwritten_detector.jsonl").read_text().splitlines():
        item = json.loads(line)
        gold, cursor = [], 0
        for substring, kind in item["gold"]:
            start = item["text"].index(substring)
            gold.append({"start": start, "end": start + len(substring), "type": kind})
            cursor = max(cursor, start)
        out.append({"split": item["split"], "origin": "handwritten", "text": item["text"], "gold": gold})
    return out


def generate() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    records: list[dict[str, Any]] = []
    for split, count in (("dev", 230), ("heldout", 120)):
        templates, pool = TEMPLATES[split], POOLS[split]
        for i in range(count):
            record = pad(render(templates[i % len(templates)], rng, pool), rng)
            records.append({"split": split, "origin": "template", **record})
    # Texts without any PHI: ordinary review sentences, the over-detection check.
    for i in range(40):
        records.append(
            {
                "split": "dev" if i % 3 else "heldout",
                "origin": "template",
                "text": " ".join(rng.sample(FILLER, rng.randint(2, 4))),
                "gold": [],
            }
        )
    records.extend(handwritten())
    for n, record in enumerate(records):
        record["id"] = f"det-{n:04d}"
        record["synthetic"] = True
    return records


def main() -> None:
    records = generate()
    with (HERE / "detector.jsonl").open("w", encoding="utf-8") as out:
        for record in records:
            ordered = {k: record[k] for k in ("id", "split", "origin", "synthetic", "text", "gold")}
            out.write(json.dumps(ordered, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} texts to {HERE / 'detector.jsonl'}")


if __name__ == "__main__":
    main()
