"""The reply guard's learned sentence classifier: it loads only with matching checksums, and
through ``POST /v1/replies/check`` it catches disclosures the rules miss, passes safe replies,
and its rewrite passes the check.  Every reply here is synthetic and written for this test (none
comes from an evaluation split)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from common.phi import PhiDetector
from common.phi.replies import ReplyGuard
from common.settings import REPO_ROOT
from services.search.replies.classifier import CATEGORIES, LazyReplyClassifier, ReplyClassifier
from services.sentiment.model import ModelIntegrityError
from tests.conftest import MARKETER_KEY, auth

MODEL = REPO_ROOT / "models" / "reply-guard"
ENCODER = REPO_ROOT / "models" / "topic-embedder"
URL = "/v1/replies/check"

# Disclosures in words no rule knows (the rules pass each of these: asserted below).
MODEL_ONLY_UNSAFE = [
    "The repair went exactly as planned.",
    "The bruising faded nicely after the second visit.",
    "Our sonographer said the baby looked perfect.",
    "Welcome back to the practice, we missed you!",
]
SAFE = [
    "Thank you for your review. Please call our office so we can help.",
    "We welcome feedback from everyone in our community.",
    "Our team is proud of the care we provide.",
]


@pytest.fixture(scope="module")
def classifier() -> ReplyClassifier:
    return ReplyClassifier.load(MODEL, ENCODER)


def test_the_classifier_loads_and_its_manifest_names_what_it_was_trained_on(classifier: ReplyClassifier) -> None:
    manifest = json.loads((MODEL / "manifest.json").read_text())
    assert manifest["categories"] == list(CATEGORIES)
    assert classifier.threshold == manifest["threshold"]
    assert 0.0 < classifier.threshold < 1.0
    held_out = {"heldout4", "heldout5", "heldout6", "heldout24", "heldout25"}
    assert held_out <= set(manifest["training_data"]["never_used"])
    assert not held_out & set(manifest["training_data"]["splits"])
    assert {"train4", "heldout7", "heldout9", "heldout11"} <= set(manifest["training_data"]["splits"])


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "reply-guard"
    shutil.copytree(MODEL, target)
    return target


def test_a_corrupt_head_fails_its_checksum(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    data = bytearray((target / "head.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (target / "head.npz").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r"head\.npz: sha256 mismatch"):
        ReplyClassifier.load(target, ENCODER)


def test_a_missing_head_fails_clearly(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    (target / "head.npz").unlink()
    with pytest.raises(ModelIntegrityError, match=r"head\.npz: missing"):
        ReplyClassifier.load(target, ENCODER)


def _with_head(tmp_path: Path, **arrays: Any) -> Path:
    """A copy of the model whose head.npz holds ``arrays``, its checksum (and threshold) updated to
    match, so only the loader's shape checks stand between it and use."""
    from services.sentiment.model import sha256_file

    target = _copy(tmp_path)
    np.savez(target / "head.npz", **arrays)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"]["head.npz"]["sha256"] = sha256_file(target / "head.npz")
    manifest["threshold"] = float(arrays["threshold"])
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_a_head_of_the_wrong_shape_is_refused_even_with_a_matching_checksum(tmp_path: Path) -> None:
    target = _with_head(
        tmp_path, weight=np.zeros((3, 384)), bias=np.zeros(3), threshold=0.5, categories=np.array(CATEGORIES[:3])
    )
    with pytest.raises(ModelIntegrityError, match="does not match"):
        ReplyClassifier.load(target, ENCODER)


def test_a_hidden_layer_that_does_not_fit_the_output_layer_is_refused(tmp_path: Path) -> None:
    target = _with_head(
        tmp_path,
        weight=np.zeros((len(CATEGORIES), 32)),
        bias=np.zeros(len(CATEGORIES)),
        threshold=0.5,
        categories=np.array(CATEGORIES),
        hidden_weight=np.zeros((64, 391)),
        hidden_bias=np.zeros(64),
    )
    with pytest.raises(ModelIntegrityError, match="hidden layer does not fit"):
        ReplyClassifier.load(target, ENCODER)


def test_the_guard_fails_closed_on_a_corrupt_model(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    (target / "head.npz").write_bytes(b"not a model")
    guard = ReplyGuard(PhiDetector(), classifier=LazyReplyClassifier(target, ENCODER))
    with pytest.raises(ModelIntegrityError):
        guard.check("Thank you for the kind words.")


@pytest.mark.parametrize("reply", MODEL_ONLY_UNSAFE)
def test_the_rules_alone_miss_these(reply: str) -> None:
    assert ReplyGuard(PhiDetector()).check(reply).safe  # so the API tests below exercise the model


def post(client, body: Any):  # type: ignore[no-untyped-def]
    return client.post(URL, json=body, headers=auth(MARKETER_KEY))


@pytest.mark.parametrize("reply", MODEL_ONLY_UNSAFE)
def test_api_flags_what_only_the_model_sees_and_its_rewrite_passes(search_client, reply: str) -> None:  # type: ignore[no-untyped-def]
    full = f"Thanks for the review! {reply} Please call our office with any questions."
    response = post(search_client, {"reply": full})
    assert response.status_code == 200, response.get_json()
    result = response.get_json()
    assert result["safe"] is False
    [finding] = result["findings"]
    assert finding["source"] == "model"
    assert finding["text"] == reply == full[finding["start"] : finding["end"]]  # the span is the sentence
    assert finding["type"] in CATEGORIES[:-1]
    assert "learned model" in finding["explanation"]
    assert reply not in result["suggestion"]
    again = post(search_client, {"reply": result["suggestion"]}).get_json()
    assert again["safe"] is True, again["findings"]


@pytest.mark.parametrize("reply", SAFE)
def test_api_passes_safe_replies_through_the_model(search_client, reply: str) -> None:  # type: ignore[no-untyped-def]
    result = post(search_client, {"reply": reply}).get_json()
    assert result == {"safe": True, "findings": [], "suggestion": reply}


def test_rule_findings_say_they_come_from_the_rules(search_client) -> None:  # type: ignore[no-untyped-def]
    result = post(search_client, {"reply": "We reviewed your chart and your MRI was normal."}).get_json()
    assert result["safe"] is False
    assert {f["source"] for f in result["findings"]} == {"rules"}


def test_the_new_splits_have_their_shape() -> None:
    def load(name: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in (REPO_ROOT / "evaluation/phi" / name).read_text().splitlines() if x.strip()]

    heldout5, train2 = load("heldout5_replies.jsonl"), load("train2_replies.jsonl")
    assert {r["split"] for r in heldout5} == {"heldout5"} and {r["split"] for r in train2} == {"train2"}
    assert sum(r["label"] == "unsafe" for r in heldout5) >= 40 and sum(r["label"] == "safe" for r in heldout5) >= 30
    assert sum("modelled_on" in r for r in heldout5) >= 4
    for r in heldout5 + train2:
        assert r["synthetic"] is True and bool(r["reasons"]) == (r["label"] == "unsafe")
    assert not {r["reply"] for r in heldout5} & {r["reply"] for r in train2}


def test_the_round5_splits_have_their_shape() -> None:
    def load(name: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in (REPO_ROOT / "evaluation/phi" / name).read_text().splitlines() if x.strip()]

    heldout6, train3 = load("heldout6_replies.jsonl"), load("train3_replies.jsonl")
    assert {r["split"] for r in heldout6} == {"heldout6"} and {r["split"] for r in train3} == {"train3"}
    assert sum(r["label"] == "unsafe" for r in heldout6) >= 60 and sum(r["label"] == "safe" for r in heldout6) >= 45
    categories = set(CATEGORIES[:-1])
    assert categories <= {c for r in heldout6 for c in r["reasons"]}
    assert categories <= {c for r in train3 for c in r["reasons"]}
    for r in heldout6 + train3:
        assert r["synthetic"] is True and bool(r["reasons"]) == (r["label"] == "unsafe")
        for sentence in r.get("unsafe_sentences", []):
            assert r["label"] == "unsafe" and sentence in r["reply"]
    earlier = {
        r["reply"] for name in ("replies.jsonl", "train2_replies.jsonl", "heldout5_replies.jsonl") for r in load(name)
    }
    assert not {r["reply"] for r in heldout6} & ({r["reply"] for r in train3} | earlier)


def test_train4_has_its_shape_and_repeats_no_held_out_reply() -> None:
    def load(name: str) -> list[dict[str, Any]]:
        path = REPO_ROOT / "evaluation/phi" / name
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []

    train4 = load("train4_replies.jsonl")
    assert {r["split"] for r in train4} == {"train4"}
    assert sum(r["label"] == "unsafe" for r in train4) >= 200 and sum(r["label"] == "safe" for r in train4) >= 130
    assert set(CATEGORIES[:-1]) <= {c for r in train4 for c in r["reasons"]}
    for r in train4:
        assert r["synthetic"] is True and bool(r["reasons"]) == (r["label"] == "unsafe")
        for sentence in r.get("unsafe_sentences", []):
            assert r["label"] == "unsafe" and sentence in r["reply"]
    held_out = {
        r["reply"]
        for r in load("replies.jsonl") + load("heldout5_replies.jsonl") + load("heldout6_replies.jsonl")
        if r["split"].startswith("heldout") and r["split"] not in ("heldout", "heldout2", "heldout3")
    }
    assert held_out and not {r["reply"] for r in train4} & held_out


def test_the_head_reads_the_guards_context_cues(classifier: ReplyClassifier) -> None:
    from common.phi.replies import CONTEXT_FEATURES, context_features

    manifest = json.loads((MODEL / "manifest.json").read_text())
    assert manifest["context_features"] == list(CONTEXT_FEATURES)
    assert (
        context_features("Results are usually released to the portal within two days.")[
            CONTEXT_FEATURES.index("policy")
        ]
        == 1.0
    )
    personal = context_features("Your results were released yesterday.")
    assert personal[CONTEXT_FEATURES.index("about_someone")] == personal[CONTEXT_FEATURES.index("past_tense")] == 1.0
    # the same clinical words, told as policy for anyone and as news about someone
    policy, news = classifier.classify(
        [
            "Biopsy results are generally shared with the ordering physician within five days.",
            "The biopsy came back benign.",
        ]
    )
    assert policy.unsafe_probability < news.unsafe_probability and news.flagged


def test_the_practices_staff_reach_the_classifier_as_our_colleague() -> None:
    seen: list[str] = []

    class Recording:
        def classify(self, sentences: list[str]) -> list[Any]:
            seen.extend(sentences)
            return [
                type("V", (), {"flagged": False, "unsafe_probability": 0.0, "category": "safe"})() for _ in sentences
            ]

    guard = ReplyGuard(PhiDetector(["Kelsey Moran", "Dr. Amara Osei"]), classifier=Recording())
    guard.check("Kelsey will be so happy to read this. Dr. Osei sends her thanks. We are glad to help.")
    assert seen == [
        "our colleague will be so happy to read this.",
        "our colleague sends her thanks.",
        "We are glad to help.",
    ]


def test_each_practice_configuration_names_only_what_its_reply_says() -> None:
    """The staff and contact annotations of the held-out sets are what a practice would enter:
    every name or contact is written in its reply, and every id exists."""
    root = REPO_ROOT / "evaluation/phi"
    for path in sorted([*root.glob("*_staff.json"), *root.glob("*_contacts.json")]):
        split = path.name.split("_")[0]
        lines = (root / f"{split}_replies.jsonl").read_text().splitlines()
        replies = {r["id"]: r["reply"] for r in (json.loads(x) for x in lines if x.strip())}
        annotations = json.loads(path.read_text())
        assert annotations, path.name
        for reply_id, values in annotations.items():
            assert values and all(v in replies[reply_id] for v in values), (path.name, reply_id)


def test_the_classifier_reads_the_reviewers_display_name_as_friend() -> None:
    guard = ReplyGuard(PhiDetector(["Kelsey"]))
    view = guard.model_view("Thank you, Mr. Ashworth! Kelsey says hi to Carl and to Dana Smith.", "Carl Ashworth")
    assert view == "Thank you, friend! our colleague says hi to friend and to Dana Smith."
    assert guard.model_view("Appreciate the love, D-Rock!", "D-Rock") == "Appreciate the love, friend!"
