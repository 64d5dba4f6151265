"""Tests of the committed sentiment model (models/review-sentiment) through the runtime loader.

Real model, no mocks.  Reviews below are written for these tests (none come from the data set).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from pathlib import Path

import pytest

from services.sentiment.model import ModelIntegrityError, Prediction, SentimentModel, verify_directory
from services.sentiment.preprocess import head_tail_ids, prepare_text

MODEL_DIR = Path(__file__).resolve().parents[1] / "models" / "review-sentiment"
LABELS = ["negative", "neutral", "positive"]
ASPECTS = ["staff", "punctuality", "helpfulness", "knowledge"]

POSITIVE = [
    "Dr. Patel was wonderful. She explained my MRI results clearly, answered every question and the "
    "whole staff was friendly and professional. Highly recommend this practice!",
    "Excellent experience from start to finish. I was seen on time, the technologist was gentle and "
    "kind, and the radiologist called me the same day with my results. Thank you!",
    "Best imaging center I have been to. Clean, fast, caring people and a very knowledgeable doctor.",
]
NEGATIVE = [
    "Horrible experience. I waited over three hours past my appointment, the front desk was rude and "
    "nobody apologized. The doctor spent two minutes with me and got my results wrong. Avoid.",
    "Worst office ever. They lost my scans twice, billed me for a test I never had and never returned "
    "my calls. Completely incompetent and unprofessional staff.",
    "Terrible. The doctor was dismissive and arrogant, would not answer my questions and rushed me out. "
    "I would not send my worst enemy here.",
    "Rude staff, filthy waiting room, hours of waiting and a report full of mistakes. Never again.",
]
MIXED = [
    "The doctor himself was knowledgeable and explained things well, but the wait was over two hours "
    "and the front desk staff were rude and disorganized. Mixed feelings, probably would not return.",
    "Average visit. The radiologist seemed competent, but I waited a long time and the staff was not "
    "very helpful. Not terrible, not great.",
    "He knows his stuff, but the office is a mess: long waits, rude receptionists, and it took weeks "
    "to get my results. Okay doctor, poorly run office.",
]


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return SentimentModel.load(MODEL_DIR, intra_op_threads=2)


def _valid(p: Prediction) -> None:
    assert isinstance(p, Prediction)
    assert list(p.probabilities) == LABELS
    assert all(isinstance(v, float) and math.isfinite(v) and 0.0 <= v <= 1.0 for v in p.probabilities.values())
    assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    assert p.sentiment in LABELS
    assert 1.0 <= p.stars <= 5.0
    assert list(p.aspects) == ASPECTS
    assert all(1.0 <= v <= 5.0 for v in p.aspects.values())
    assert isinstance(p.truncated, bool)


# ---------------------------------------------------------------------------------- integrity
def test_manifest_lists_and_verifies_every_runtime_file():
    manifest = verify_directory(MODEL_DIR)
    files = manifest["files"]
    for required in ("model.int8.onnx", "tokenizer.json", "tokenizer_config.json"):
        assert required in files
    on_disk = {p.relative_to(MODEL_DIR).as_posix() for p in MODEL_DIR.rglob("*") if p.is_file()}
    assert on_disk - set(files) <= {"manifest.json", "MODEL_CARD.md"}
    assert manifest["labels"] == LABELS and manifest["aspects"] == ASPECTS
    assert manifest["text"]["truncation"] == "head+tail"
    assert manifest["calibration"]["temperature"] > 0


def _runtime_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "model"
    shutil.copytree(MODEL_DIR, dst, ignore=shutil.ignore_patterns("torch"))  # torch/ is optional
    return dst


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["model.int8.onnx", "tokenizer.json"])
def test_corrupted_copy_fails_naming_the_file(tmp_path, name):
    d = _runtime_copy(tmp_path)
    SentimentModel.load(d)  # the intact copy loads (torch/ absent is allowed)
    target = d / name
    _flip_byte(target, target.stat().st_size // 2)
    with pytest.raises(ModelIntegrityError) as err:
        SentimentModel.load(d)
    msg = str(err.value)
    assert name in msg and "expected" in msg and "actual" in msg


def test_missing_file_fails(tmp_path):
    d = _runtime_copy(tmp_path)
    (d / "tokenizer.json").unlink()
    with pytest.raises(ModelIntegrityError, match=r"tokenizer\.json: missing"):
        SentimentModel.load(d)


def test_corrupted_torch_checkpoint_file_fails_when_present(tmp_path):
    d = _runtime_copy(tmp_path)
    (d / "torch").mkdir()
    shutil.copy(MODEL_DIR / "torch" / "config.json", d / "torch" / "config.json")
    SentimentModel.load(d)
    cfg = json.loads((d / "torch" / "config.json").read_text())
    cfg["num_hidden_layers"] = 5
    (d / "torch" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelIntegrityError, match=r"torch/config\.json"):
        SentimentModel.load(d)


def test_missing_manifest_fails(tmp_path):
    d = _runtime_copy(tmp_path)
    (d / "manifest.json").unlink()
    with pytest.raises(ModelIntegrityError, match="manifest"):
        SentimentModel.load(d)


def test_name_and_version(model):
    assert model.name == "review-sentiment"
    assert model.version.count(".") == 2


# -------------------------------------------------------------------------------- predictions
@pytest.mark.parametrize(
    ("text", "label"),
    [(t, "positive") for t in POSITIVE] + [(t, "negative") for t in NEGATIVE] + [(t, "neutral") for t in MIXED],
)
def test_unambiguous_reviews(model, text, label):
    (p,) = model.predict([text])
    _valid(p)
    assert p.sentiment == label, p


def test_stars_and_aspects_follow_sentiment(model):
    pos = model.predict(POSITIVE)
    neg = model.predict(NEGATIVE)
    assert min(p.stars for p in pos) > 4.0
    assert max(p.stars for p in neg) < 2.0
    # "rude front desk" hurts the staff score more than the doctor's knowledge
    (mixed,) = model.predict([MIXED[0]])
    assert mixed.aspects["staff"] < mixed.aspects["knowledge"]


def test_batch_equals_one_by_one(model):
    texts = POSITIVE + NEGATIVE + MIXED + ["", "ok", "x " * 600]
    batch = model.predict(texts)
    single = [model.predict([t])[0] for t in texts]
    assert len(batch) == len(texts)
    for b, s in zip(batch, single, strict=True):
        assert b.sentiment == s.sentiment
        assert b.truncated == s.truncated
        for lab in LABELS:
            assert b.probabilities[lab] == pytest.approx(s.probabilities[lab], abs=1e-4)
        assert b.stars == pytest.approx(s.stars, abs=1e-4)
        for a in ASPECTS:
            assert b.aspects[a] == pytest.approx(s.aspects[a], abs=1e-4)


def test_order_is_preserved_for_mixed_lengths(model):
    texts = [NEGATIVE[0] * 3, POSITIVE[2], "", NEGATIVE[3], POSITIVE[0] * 5]
    preds = model.predict(texts)
    assert [p.sentiment for p in preds] == [model.predict([t])[0].sentiment for t in texts]


def test_empty_inputs(model):
    assert model.predict([]) == []
    (p,) = model.predict([""])
    _valid(p)
    assert p.truncated is False


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t  ",
        "😡😡😡 never again 👎",
        "🙂" * 5000,
        "Great doctor \ufffd\ufffd\ufffd thanks",
        b"Great \xff\xfe staff \xc3\x28 and results".decode("utf-8", errors="replace"),
        "lone surrogate \ud83d in the middle",
        "\x00\x01 control chars \u200b\u202e",
        "Ünïcödé ñame — “quotes” 日本語のレビュー",
        "a" * 100_000,
    ],
)
def test_odd_texts_do_not_crash(model, text):
    (p,) = model.predict([text])
    _valid(p)


def test_100kb_text_is_truncated_head_tail(model):
    long = ("The staff was friendly and the scan went smoothly. " * 2000)[:100_000]
    (p,) = model.predict([long])
    _valid(p)
    assert p.truncated is True
    (short,) = model.predict([POSITIVE[0]])
    assert short.truncated is False


def test_single_str_is_rejected(model):
    with pytest.raises(TypeError):
        model.predict("a plain string")  # type: ignore[arg-type]


def test_prediction_is_frozen(model):
    (p,) = model.predict(["fine"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.sentiment = "negative"  # type: ignore[misc]


# ------------------------------------------------------------------------ shared preprocessing
def test_head_tail_ids():
    ids = list(range(1000))
    out, cut = head_tail_ids(ids, cls_id=101, sep_id=102, max_length=256, head_tokens=64)
    assert cut and len(out) == 256
    assert out[0] == 101 and out[-1] == 102
    assert out[1:65] == list(range(64))
    assert out[65:-1] == list(range(1000 - 190, 1000))
    short, cut = head_tail_ids([5, 6], cls_id=101, sep_id=102, max_length=256, head_tokens=64)
    assert short == [101, 5, 6, 102] and not cut
    exact, cut = head_tail_ids(list(range(254)), cls_id=101, sep_id=102)
    assert len(exact) == 256 and not cut


def test_prepare_text():
    assert prepare_text("abc") == ("abc", False)
    clean, capped = prepare_text("x\ud800y")
    assert clean == "x\ufffdy" and not capped
    clean.encode("utf-8")
    big, capped = prepare_text("b" * 50_000)
    assert capped and len(big) < 50_000
    with pytest.raises(TypeError):
        prepare_text(None)  # type: ignore[arg-type]
