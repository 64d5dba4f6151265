"""The reply guard: safe replies pass, each kind of disclosure is flagged with its span and a
safer rewrite, and ``POST /v1/replies/check`` validates, authorises and answers as documented.
All replies are synthetic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.phi import PhiDetector
from common.phi.replies import STANDARD_LINE, ReplyGuard
from common.settings import REPO_ROOT
from tests.conftest import MARKETER_KEY, VIEWER_KEY, auth

PHONE = "(312) 555-0100"


@pytest.fixture(scope="module")
def guard() -> ReplyGuard:
    return ReplyGuard(PhiDetector(["Dr. Anika Patel", "Jake Moreno", "Jake", "Linda Chen"]), practice_phone=PHONE)


SAFE = [
    "Thank you for the five stars! We'll share your kind words with the whole team.",
    "We're sorry to read this. We can't discuss anyone's care online, but please call our office at "
    "(312) 555-0100 and ask for Linda.",
    "We accept most major insurance plans, and our billing team is happy to answer questions by phone.",
    "Thank you! Dr. Patel and Jake will be thrilled to hear this.",
    "Privacy laws prevent us from discussing any individual's care in a public forum. Please give us a call.",
    "We offer an open MRI for patients who feel claustrophobic.",
    "Hi Kim, thanks for taking the time to write this.",
]


@pytest.mark.parametrize("reply", SAFE)
def test_safe_replies_pass_unchanged(guard: ReplyGuard, reply: str) -> None:
    result = guard.check(reply, reviewer_display_name="Kim R.")
    assert result.safe, [(f.type, f.text) for f in result.findings]
    assert result.findings == [] and result.suggestion == reply


@pytest.mark.parametrize(
    ("reply", "kind", "words"),
    [
        ("We reviewed your chart and everything was done by the book.", "patient_confirmation", "your chart"),
        ("Our records show you arrived 40 minutes late.", "patient_confirmation", "Our records show"),
        ("When you came in for your MRI we explained the noise.", "patient_confirmation", "When you came"),
        ("Your ultrasound showed a small cyst.", "clinical_detail", "cyst"),
        ("We know your depression has been hard on you.", "clinical_detail", "depression"),
        ("Your appointment on April 12 was moved by the hospital.", "appointment_detail", "April 12"),
        ("We're sorry about the delay on Tuesday morning.", "appointment_detail", "Tuesday morning"),
        ("Your plan has a $1,500 deductible, so the charge is correct.", "financial_detail", "$1,500"),
        ("Aetna denied your claim, as we told you.", "financial_detail", "claim"),
        ("Dear Jennifer Smith, we are sorry.", "naming", "Jennifer Smith"),
        ("Your husband Mark was kind to our staff.", "naming", "Mark"),
        ("To set the record straight, our staff followed protocol.", "public_discussion", "set the record straight"),
        ("Please reply here with your date of birth so we can check.", "public_discussion", "your date of birth"),
        ("We mailed the form to 55 Elm Street last week.", "phi", "55 Elm Street"),
        ("We tried you at 773-555-0131 three times.", "phi", "773-555-0131"),
    ],
)
def test_each_kind_of_disclosure_is_flagged_with_its_span(guard: ReplyGuard, reply: str, kind: str, words: str) -> None:
    result = guard.check(reply, reviewer_display_name="Jen S.")
    assert not result.safe
    matching = [f for f in result.findings if f.type == kind]
    assert matching, [(f.type, f.text) for f in result.findings]
    at = reply.index(words)
    assert any(f.start < at + len(words) and at < f.end for f in matching)
    for f in result.findings:
        assert reply[f.start : f.end] == f.text and f.explanation
    assert STANDARD_LINE.format(at_phone=f" at {PHONE}") in result.suggestion
    assert guard.check(result.suggestion, reviewer_display_name="Jen S.").safe


def test_the_name_in_a_handle_is_the_reviewers_own(guard: ReplyGuard) -> None:
    assert guard.check("Ha, fair! We switched the TV to nature shows. Thanks Zoey!", reviewer_display_name="ZoeyB").safe
    assert not guard.check("Thanks Zoey and Marco!", reviewer_display_name="ZoeyB").safe
    assert guard.check("Hi Mel, thanks for the note!", reviewer_display_name="melk").safe
    assert guard.check("Hey Mike, thanks for the five stars!", reviewer_display_name="bigmike").safe


def test_the_display_name_may_be_used_but_not_a_fuller_one(guard: ReplyGuard) -> None:
    assert guard.check("Thank you, Karen!", reviewer_display_name="Karen W.").safe
    result = guard.check("Thank you, Karen Williams!", reviewer_display_name="Karen W.")
    assert [f.type for f in result.findings] == ["naming"]


def test_a_name_from_the_review_is_not_repeated(guard: ReplyGuard) -> None:
    review = "My husband Tyrone waited for hours."
    result = guard.check("Please tell Tyrone we are sorry.", review=review, reviewer_display_name="Q")
    assert [(f.type, f.text) for f in result.findings] == [("naming", "Tyrone")]


@pytest.mark.parametrize(
    "reply",
    [
        # the practice's other lines and role mailboxes, offered as a way to get in touch
        "Our director would welcome your call at (312) 555-0188.",
        "We'd like to hear more at (312) 555-0131.",
        "Billing questions can be emailed to billing@lakeshore.example.com.",
        # names the reply itself presents as the practice's people
        "Please call the office and ask for Renee.",
        "Our manager, Carla, is happy to chat on weekdays.",
        "Hi, I'm Dr. Levesque, the medical director, and I want to hear what went wrong.",
        # general statements that address any reader as "you"
        "A referral from your physician is required for MRI, CT and PET scans.",
        "Anyone who needs a copy of their images on CD can ask at the front desk.",
        "Results generally appear on the patient portal within three business days.",
        # schedules, departments and idioms are not someone's visit or care
        "We've added a physician assistant on Tuesday and Thursday mornings.",
        "Thank you! Our pediatric ultrasound team will be thrilled.",
        "We're glad the staff made a good impression.",
        "Regards, Summit Diagnostic Imaging",
        # explaining how things work, for anyone reading
        "Walk-in X-rays Mon-Fri 8-4:30 with a doctor's order, no appointment needed.",
        "For some exams you go in feet-first.",
        "A breast MRI is painless, though you lie face-down for about 30 minutes.",
        "In general, our schedulers confirm the exam against the physician's written order.",
        "Your own doctor is the best person to say which test fits.",
        "Thanks for stopping by our page and leaving a note!",
        "We've also added a Thursday afternoon clinic to shorten waits.",
        "We open our same-day sick slots at 8 a.m. each morning.",
        "There's free overflow parking in the garage across Mercer Street, and we validate.",
        "A DEXA scan is one of the easiest exams we do: you lie still on a padded table.",
        "Under federal privacy law we can only share treatment information with someone the patient has named.",
        # the reader's own doctor or plan in advice to anyone
        "Reports are written for doctors, so please reach out to your doctor's office with any questions.",
        "Your doctor or one of our radiologists can talk through any concerns about radiation.",
        "Since networks change, call us with your plan name and we'll check for you.",
        # what things depend on, and what holds only sometimes
        "Scan length varies by the type of MRI ordered.",
        "You don't always need an order for a screening mammogram.",
        # an explanation goes on in the next sentences, in the present tense and to any reader
        "A thyroid ultrasound takes about 20 minutes. You lie on your back with a pillow under your shoulders, "
        "and the gel goes over the front of the neck.",
        "Generally, a breast MRI doesn't hurt. You lie on your stomach and an IV is placed for the contrast.",
        "A DEXA scan measures bone density. It's quick and you stay fully clothed.",
        # departments and streets are not people
        "Anyone with a billing question can write to our Patient Accounts team.",
        "There's free parking on Delmar Ave behind the building.",
        # prices and coverage for everyone, holidays, roles and idioms
        "Our self-pay price is a flat $120 for a basic visit for anyone without insurance.",
        "Most dental plans cap benefits at an annual maximum, often between $1,000 and $2,000.",
        "We close early on Christmas Eve and New Year's Eve.",
        "Please write to our Patient Safety Officer, Joan Pike.",
        "Sorry the portal is being a pain! Our billing office can walk you through any statement.",
        "Requests for images from attorneys require an authorization signed by the patient.",
        # round 13: sympathy formulas, addresses, staff pronouns, anyone's patient, the practice's changes
        "We're sorry for the frustration. Our billing team is glad to explain any statement by phone.",
        "Please don't post any account info here; email billing@example.net and we will get back to you.",
        "Dr. Patel has a gift, and she keeps a whole toolkit for needle-nervous kids.",
        "Before any image-guided procedure, the physician reviews the risks with the patient.",
        "Our IT vendor pushed a fix last week, so the online check-in works again.",
        "Self-pay CT prices start at $275, and the full list is on our website.",
        "Tell your technologist if it hurts, and we can adjust the compression.",
        "A two-view chest X-ray without insurance is $65 at our centre.",
        "Our doors open at 7:00 a.m. and the first appointments start at 7:30.",
        "Women with dense tissue can discuss supplemental screening with their doctor.",
        "Every patient should be told about the injection first - you always have the right to say no.",
        "You're right that wait times for echocardiograms have been long lately; a second sonographer starts soon.",
        "Surprise bills are the worst and we're sorry. Many plans cap the number of PT visits per year.",
        "There is free parking behind the building on Linden street.",
        "We're sorry if someone gave the wrong impression: we accept HSA and FSA cards and most insurance plans.",
        "We are adding it to our booking script so everyone knows ahead of time.",
        "Our rule is that every echo result is reviewed by a cardiologist within a week.",
        "Please mention any pacemaker when you call us, so we book the right scanner.",
        "Bending the knee slightly helps the scanner, so the images are sharper.",
        "You are so welcome ❤️ A DEXA scan only takes ten minutes, and our techs keep it comfortable.",
        "It's a question we hear often, so we want to explain for everyone: sonographers can't share findings.",
        "For the record, we never require payment up front from anyone.",
        # explanations for anyone, the practice's own name and website
        'In general, "no acute findings" means the scan did not show an urgent problem.',
        "As a matter of policy our radiologists finalize reports within one business day.",
        "You absolutely have a right to your results, and the portal shows them.",
        "We recommend that any imaging result be reviewed with a doctor who knows the patient's history.",
        "Individuals have the right to obtain copies of their records.",
        "Reports go to your ordering doctor within a day of the exam.",
        "We appreciate your support of Lakeshore Imaging.",
        "We've just released a portal update that puts finalized reports on the first screen.",
        "Sorry the website isn't clearer: walk-ins are welcome for X-rays on weekdays.",
        "We've just added a frame collection starting at $59.",
        "Skip lotion that morning and tell your technologist if you're uncomfortable.",
        "Anyone arriving more than 15 minutes late may need to reschedule.",
        "Just so everyone knows, copies on CD carry a small fee.",
        "We want to explain how it works here for everyone: sonographers can't interpret images.",
        "Our radiologists read every study within a day, and the report goes to the doctor who ordered it.",
        "Good therapy starts with feeling heard, and I'm sorry to read that this is how things felt.",
        "We're sorry it felt that way; we ask everyone about pregnancy before an X-ray.",
        "Yes, we're in network with most Delta Dental PPO plans.",
        # refusing to discuss the case in public is the safe answer
        "We are not able to respond to questions about specific scans or bills here.",
        "We would like to discuss this further, but only privately, never online.",
    ],
)
def test_contact_details_staff_and_policy_statements_pass(guard: ReplyGuard, reply: str) -> None:
    result = guard.check(reply)
    assert result.safe, [(f.type, f.text) for f in result.findings]


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("We called you at (312) 555-0177 twice.", "phi"),
        ("We have your cell as (312) 555-0177.", "phi"),
        ("We will call you back at (312) 555-0177.", "phi"),
        ("Mary Walsh's email is mwalsh@example.com, as we told you.", "phi"),
        ("Our receptionist Ana says you always make her laugh at check-in.", "patient_confirmation"),
        ("Our patient, Maria Gomez, left a review too.", "naming"),
        ("Your MRI is usually read within a day, as it was last week.", "patient_confirmation"),
        ("We are happy to discuss your results here for everyone.", "public_discussion"),
        # news about a condition, told without naming anyone
        ("So glad the new inhaler is helping with the wheezing.", "clinical_detail"),
        ("Congratulations on finally being cancer free!", "clinical_detail"),
        ("Our cardiologist caught the arrhythmia just in time.", "clinical_detail"),
        ("It turned out to be nothing, what a relief.", "clinical_detail"),
        ("The lump turned out to be a harmless cyst.", "clinical_detail"),
        ("Nice to see a familiar face in the waiting room again!", "patient_confirmation"),
        ("Always great to see familiar faces like yours in the lobby.", "patient_confirmation"),
        ("Glad your score came back low!", "patient_confirmation"),
        ("We'll set up a payment plan for the remaining $1,200 balance.", "financial_detail"),
        ("Thank you Bogdan, we are happy. Gallbladder is fine, so no worry!", "clinical_detail"),
        ("The doctor wants to explain that the liver ultrasound shows fatty liver, not cancer.", "clinical_detail"),
        ("For anyone reading, a stress test result like the one described is common.", "clinical_detail"),
        ("Aww Gina, you're one of our favourite regulars!", "patient_confirmation"),
        ("Ron - your 8am slot was delayed by an emergency add-on.", "patient_confirmation"),
        ("Vasectomy recovery can feel slow, but it sounds like you're right on track.", "clinical_detail"),
        ("Balance is $64. Call billing.", "financial_detail"),
        ("Thank you Emory! Hope the new night guard is helping with the grinding.", "clinical_detail"),
        ("Quick reminder that you're due back in October!", "patient_confirmation"),
        ("Welcome to the Summit Imaging family, Josh!", "patient_confirmation"),
        ("It's always nice when our regulars leave us a review.", "patient_confirmation"),
        (
            "Post the impression section of the report below and I'll walk you through it right here.",
            "public_discussion",
        ),
        ("Just a reminder, no heavy lifting for a week after the vertebroplasty!", "clinical_detail"),
        ("Dr. Ambrose was glad to walk you through the next steps after the biopsy.", "clinical_detail"),
        # an explanation does not cover what follows it when that names a diagnosis or a next step
        ("Generally MRIs take 45 minutes. You lie still while we image the torn ligament.", "clinical_detail"),
        ("Most scans take 30 minutes. You will need another ultrasound in six months.", "clinical_detail"),
        # the reader's doctor in something that happened, or beside a definite exam
        ("Your doctor ordered the CT with contrast.", "patient_confirmation"),
        ("Your doctor will go over the biopsy with you.", "patient_confirmation"),
        (
            "Rather than let this stand, we will lay out the timeline of the exam in a follow-up comment.",
            "public_discussion",
        ),
        # plural, possessive and in-passing confirmations
        ("As one of our longtime patients, you get the new portal first.", "patient_confirmation"),
        ("Hana, you're honestly one of our favourite patients!", "patient_confirmation"),
        ("Your two boys are a delight; we look forward to their checkups.", "patient_confirmation"),
        ("Thanks so much for coming to us, Omar.", "patient_confirmation"),
        ("Weekday evenings are quiet, so good timing on your part!", "patient_confirmation"),
        ("We'll make sure it doesn't happen next time you're in.", "patient_confirmation"),
        ("Thanks Dee, see you in six months!", "patient_confirmation"),
        ("Ha, you caught us on a quiet afternoon.", "patient_confirmation"),
        ("We always enjoy your 10 o'clock Friday visits.", "patient_confirmation"),
        ("The deductible was waived as discussed.", "patient_confirmation"),
        ("We'll go over it with everyone involved in your care.", "patient_confirmation"),
        ("Sorry about the extra compression views. I'll let your technologist know!", "patient_confirmation"),
        # a treatment, a result or a pregnancy told in passing
        ("Fingers crossed the new medication keeps working!", "clinical_detail"),
        ("Congrats, 12 weeks along already!", "clinical_detail"),
        ("Everything is measuring right on track.", "clinical_detail"),
        ('"Mild spondylosis" just means the joints of the spine show some age.', "clinical_detail"),
        ("Your Holter showed nothing worrying.", "clinical_detail"),
        ("So proud of you, a whole year sober!", "clinical_detail"),
        ("Glad your wisdom teeth came out easily.", "clinical_detail"),
        ("The account went to collections after two notices.", "financial_detail"),
        # round 16: answers that confirm, visits seen from the practice's side
        ("Twice, per our records.", "patient_confirmation"),
        ("We're glad we could get you seen so quickly!", "patient_confirmation"),
        ("We always love when you stop by.", "patient_confirmation"),
        ("We love seeing your whole family!", "patient_confirmation"),
        ("You were in and out in 20 minutes!", "patient_confirmation"),
        ("I see you called three times before noon.", "patient_confirmation"),
        ("We look forward to your next visit!", "patient_confirmation"),
        ("See you at the two-year checkup!", "patient_confirmation"),
        ("We're honoured to be part of your journey.", "patient_confirmation"),
        ("Our program is here for women like you with a family history.", "patient_confirmation"),
        ("Sorry you had to wait so long.", "patient_confirmation"),
        ("You're right that the heater was broken that morning.", "appointment_detail"),
        ("20 min late, yes, and we're sorry.", "appointment_detail"),
        ("Please keep taking the prescribed antibiotic.", "clinical_detail"),
        ("Ninety days sober is a big deal!", "clinical_detail"),
        ("Little Mia's eczema looks so much better.", "clinical_detail"),
        ("Your diabetes needs a specialist's care.", "clinical_detail"),
        ("The improvement you describe is right on track.", "clinical_detail"),
        ("Please reply to this review with the full name on the account.", "public_discussion"),
        # round 17
        ("Thanks for visiting, Lou.", "patient_confirmation"),
        ("I enjoyed our conversation.", "patient_confirmation"),
        ("We did notice you seemed cold on the table.", "patient_confirmation"),
        ("She was thrilled you asked for her by name.", "patient_confirmation"),
        ("It was a pleasure reviewing the images with you.", "patient_confirmation"),
        ("It was an honour to care for a fellow nurse.", "patient_confirmation"),
        ("Dr. Osei loves seeing the Larsen family!", "patient_confirmation"),
        ("See you Thursday like always!", "patient_confirmation"),
        ("See you both at the anatomy scan!", "patient_confirmation"),
        ("According to our check-in system, you were called back at 9:40.", "patient_confirmation"),
        ("Your slot moved from 8:15am because the magnet needed service.", "appointment_detail"),
        ("Your last mammo was ten months ago.", "appointment_detail"),
        ("$140 still outstanding.", "financial_detail"),
        ("We reviewed the claim we submitted and it was correct.", "financial_detail"),
        ("The kidney stone is small and should pass.", "clinical_detail"),
        ("Keep up those knee exercises!", "clinical_detail"),
        ("Glad the new +1.25 readers are working!", "clinical_detail"),
        ("Good to see that PSA coming down.", "clinical_detail"),
        ("Our radiologist will respond in this thread with the corrections.", "public_discussion"),
        # inviting questions to be answered in the thread
        ("Leave your questions in a reply and our radiologist will answer them here.", "public_discussion"),
    ],
)
def test_the_same_words_about_someone_in_particular_are_still_flagged(guard: ReplyGuard, reply: str, kind: str) -> None:
    result = guard.check(reply)
    assert kind in {f.type for f in result.findings}, [(f.type, f.text) for f in result.findings]


def test_the_rewrite_keeps_the_safe_sentences(guard: ReplyGuard) -> None:
    reply = "Thank you for writing. Your biopsy came back benign. We value every patient."
    result = guard.check(reply)
    assert result.suggestion.startswith("Thank you for writing. We value every patient.")
    assert "biopsy" not in result.suggestion
    no_phone = ReplyGuard(PhiDetector()).check(reply).suggestion
    assert "please call our office so we can" in no_phone


def test_replies_evaluation_set_has_its_shape() -> None:
    path = REPO_ROOT / "evaluation/phi/replies.jsonl"
    records = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(records) >= 300
    assert {r["label"] for r in records} == {"safe", "unsafe"}
    assert {r["split"] for r in records} == {"dev", "heldout", "heldout2", "heldout3", "heldout4"}
    assert all(r["synthetic"] is True and r["reply"] for r in records)
    assert all(bool(r["reasons"]) == (r["label"] == "unsafe") for r in records)
    assert sum("modelled_on" in r for r in records) >= 4
    for split in ("dev", "heldout", "heldout2", "heldout3", "heldout4"):
        assert {r["label"] for r in records if r["split"] == split} == {"safe", "unsafe"}


# --- the HTTP API ---------------------------------------------------------------------------------

URL = "/v1/replies/check"


def post(client, body: Any, key: str = MARKETER_KEY, **kwargs: Any):  # type: ignore[no-untyped-def]
    return client.post(URL, json=body, headers=auth(key), **kwargs)


def test_api_passes_a_safe_reply(search_client) -> None:  # type: ignore[no-untyped-def]
    response = post(search_client, {"reply": "Thank you for your feedback! Please call our office."})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "safe": True,
        "findings": [],
        "suggestion": "Thank you for your feedback! Please call our office.",
    }


def test_api_flags_an_unsafe_reply_with_spans_and_a_suggestion(search_client) -> None:  # type: ignore[no-untyped-def]
    reply = "Hi Jennifer Lopez, we reviewed your chart: your MRI on March 3 was covered by Aetna."
    body = {"reply": reply, "review": "Awful place.", "reviewer_display_name": "Jen"}
    response = post(search_client, body)
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["safe"] is False
    kinds = {f["type"] for f in result["findings"]}
    assert {"naming", "patient_confirmation", "clinical_detail", "appointment_detail", "financial_detail"} <= kinds
    for finding in result["findings"]:
        assert reply[finding["start"] : finding["end"]] == finding["text"]
        assert finding["explanation"]
    assert "can't discuss any individual's care online" in result["suggestion"]
    assert "Aetna" not in result["suggestion"] and "Jennifer" not in result["suggestion"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "validation_failed"),
        ({"reply": ""}, 422, "validation_failed"),
        ({"reply": 5}, 422, "validation_failed"),
        ({"reply": "x" * 5001}, 422, "validation_failed"),
        ({"reply": "ok", "review": ["no"]}, 422, "validation_failed"),
        ({"reply": "ok", "unknown": 1}, 422, "validation_failed"),
        ([], 422, "validation_failed"),
    ],
)
def test_api_validates_the_body(search_client, body: Any, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    response = post(search_client, body)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_api_rejects_bad_encodings_sizes_and_media_types(search_client) -> None:  # type: ignore[no-untyped-def]
    headers = auth(MARKETER_KEY)
    assert search_client.post(URL, data="{", headers=headers, content_type="application/json").status_code == 400
    assert search_client.post(URL, data="", headers=headers, content_type="application/json").status_code == 400
    plain = search_client.post(URL, data="hello", headers=headers, content_type="text/plain")
    assert plain.status_code == 415 and plain.get_json()["error"]["code"] == "unsupported_media_type"
    limit = search_client.application.config["MAX_CONTENT_LENGTH"]
    huge = search_client.post(
        URL, data=b'{"reply": "' + b"a" * limit + b'"}', headers=headers, content_type="application/json"
    )
    assert huge.status_code == 413 and huge.get_json()["error"]["status"] == 413


def test_api_needs_a_marketer_key(search_client) -> None:  # type: ignore[no-untyped-def]
    assert search_client.post(URL, json={"reply": "Thanks!"}).status_code == 401
    forbidden = post(search_client, {"reply": "Thanks!"}, key=VIEWER_KEY)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "forbidden"


def test_api_never_logs_the_reply(search_client, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    secret = "Zebulon Quartermaine 219-09-9999"
    with caplog.at_level("DEBUG"):
        post(search_client, {"reply": f"Dear {secret}, your CT was fine.", "review": secret})
    assert not any("Zebulon" in r.getMessage() or "219-09" in str(r.__dict__) for r in caplog.records)


def test_api_responses_match_the_openapi_document(search_client) -> None:  # type: ignore[no-untyped-def]
    from tests.test_openapi import assert_response, document

    doc = document(search_client)
    unsafe = post(
        search_client, {"reply": "Your MRI on May 2 showed a tear, Mr. Lopez.", "reviewer_display_name": None}
    )
    assert_response(doc, URL, "post", unsafe, 200)
    assert_response(doc, URL, "post", post(search_client, {"reply": "Thanks!"}), 200)
    assert_response(doc, URL, "post", post(search_client, {"reply": ""}), 422)
    assert_response(doc, URL, "post", post(search_client, {"reply": "Thanks!"}, key=VIEWER_KEY), 403)
    assert_response(doc, URL, "post", search_client.post(URL, json={"reply": "Thanks!"}), 401)


def test_api_answers_replies_and_reviews_at_their_size_limits(search_client) -> None:  # type: ignore[no-untyped-def]
    reply = ("1.2.3.4.5.6.7.8." * 400)[:5000]  # long runs that a careless pattern would scan quadratically
    review = ("a-" * 10_000)[:20_000]
    response = post(search_client, {"reply": reply, "review": review, "reviewer_display_name": "x" * 200})
    assert response.status_code == 200, response.get_json()
    assert post(search_client, {"reply": "ok", "review": "r" * 20_001}).status_code == 422
    assert post(search_client, {"reply": "ok", "reviewer_display_name": "x" * 201}).status_code == 422


def test_the_guard_knows_each_practices_staff_and_phone(search_client) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import ADMIN_KEY, OTHER_TENANT_KEY

    reply = "Dr. Ilse Vandermeer read your MRI results and wants to discuss your diagnosis."
    profile = {"display_name": "Northside", "staff": ["Dr. Ilse Vandermeer", "Ilse"], "phone": "(555) 010-4477"}
    saved = search_client.put("/v1/practice", json=profile, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert saved.status_code == 200, saved.get_json()
    mine = post(search_client, {"reply": reply}).get_json()
    names = [f for f in mine["findings"] if f["type"] in ("naming", "phi") and "Vandermeer" in f["text"]]
    assert names == [], "the practice's own radiologist is not a patient's name"
    assert not mine["safe"], "the results and diagnosis are still a disclosure"
    assert "(555) 010-4477" in mine["suggestion"]
    # Another practice does not share that allow-list: there it is somebody's name.
    theirs = post(search_client, {"reply": reply}, key=OTHER_TENANT_KEY).get_json()
    assert any("Vandermeer" in f["text"] for f in theirs["findings"])


def test_the_practices_published_contacts_are_not_a_patients_identifiers(search_client) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import ADMIN_KEY, OTHER_TENANT_KEY

    reply = "Please email advocate@northside.example.com or ring 555-010-2288 any weekday."
    profile = {
        "display_name": "Northside",
        "website": "https://www.northside.example.com/",
        "contacts": ["555-010-2288"],
    }
    saved = search_client.put("/v1/practice", json=profile, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["contacts"] == ["555-010-2288"]
    mine = post(search_client, {"reply": reply}).get_json()
    assert mine["safe"], mine["findings"]
    # the practice's number is still somebody's when the reply says so
    theirs = post(search_client, {"reply": "We called you at (555) 010-3399 twice."}).get_json()
    assert [f["type"] for f in theirs["findings"] if f["type"] == "phi"] == ["phi"]
    forwarded = {"reply": "We forwarded this to jo@northside.example.com."}
    assert post(search_client, forwarded).get_json()["safe"], "an address at the practice's own domain"
    elsewhere = post(search_client, forwarded, key=OTHER_TENANT_KEY).get_json()
    assert not elsewhere["safe"], "another practice does not share that website's domain"
    too_many = {**profile, "contacts": ["555-010-2288"] * 51}
    refused = search_client.put("/v1/practice", json=too_many, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert refused.status_code == 422 and "contacts" in json.dumps(refused.get_json())
