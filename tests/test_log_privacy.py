"""Logs at INFO and above never carry review text, author names or the PHI in them.

An end-to-end run with planted identifiers: ingest (valid and invalid payloads), the sentiment
worker, the indexer, search with the planted name typed into the box, CSV export, a reply check
and a dead letter.  Every log record at INFO or above (message, arguments and structured extras)
is then searched for the planted strings.
"""

from __future__ import annotations

import logging
import uuid

import pytest

from common.bus import Message
from tests.conftest import MARKETER_KEY, auth
from tests.test_pipeline_e2e import searchable, wait_for

pytestmark = pytest.mark.usefixtures("pipeline")

SURNAME = "Marchbanks" + uuid.uuid4().hex[:4]
PLANTED = [
    f"Quintavius {SURNAME}",  # the author's display name and a relative named in the text
    "q.marchbanks@example.net",
    "555-867-5309",
    "MRN 77881234",
    "sciatica flare",
]


def test_no_log_record_carries_planted_identifiers(  # type: ignore[no-untyped-def]
    caplog, ingest_client, search_client, store, bus, settings, unique
) -> None:
    caplog.set_level(logging.INFO)
    review = {
        "source": "google",
        "external_id": f"logs-{unique}",
        "author": f"Quintavius {SURNAME}",
        "text": (
            f"My sciatica flare made the MRI hard. My wife Quintavius {SURNAME} called 555-867-5309 and wrote to "
            "q.marchbanks@example.net about MRN 77881234, and the staff were lovely."
        ),
        "rating": 4,
    }
    accepted = ingest_client.post("/v1/mentions", json=review, headers=auth())
    assert accepted.status_code == 202
    mention_id = accepted.get_json()["ids"][0]
    # Invalid input naming the same identifiers: refused with field names, values never echoed.
    refused = ingest_client.post("/v1/mentions", json={**review, "rating": 9}, headers=auth())
    assert refused.status_code == 422
    # A record the worker cannot read goes to the dead-letter topic with a reason.
    bus.publisher().publish(
        settings.topics.raw, [Message(key=b"t", value=f'{{"text": "{PLANTED[0]} 555-867-5309"'.encode())], 5
    )
    wait_for(searchable(search_client, store, [mention_id]))
    dead_letters = bus.subscribe([settings.topics.dead_letter], f"log-privacy-{unique}")
    try:
        wait_for(lambda: any(SURNAME.encode() in r.value for r in dead_letters.poll(100, 1.0)), 30)
    finally:
        dead_letters.close()

    assert search_client.get("/v1/mentions", query_string={"q": SURNAME}, headers=auth()).status_code == 200
    export = search_client.get("/v1/mentions/export.csv", query_string={"q": SURNAME}, headers=auth())
    assert export.status_code == 200 and SURNAME in export.get_data(as_text=True)  # the user does get the data
    check = search_client.post(
        "/v1/replies/check",
        json={"reply": f"Thanks {PLANTED[0]}, we saw your MRI chart.", "review": review["text"]},
        headers=auth(MARKETER_KEY),
    )
    assert check.status_code == 200 and check.get_json()["safe"] is False

    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert records, "the run logged something at INFO or above"
    for record in records:
        rendered = record.getMessage() + " " + " ".join(str(v) for v in vars(record).values())
        for planted in (*PLANTED, SURNAME):
            assert planted not in rendered, f"{record.name} logged a planted identifier at {record.levelname}"
