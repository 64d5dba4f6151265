#!/usr/bin/env python3
"""Export the fine-tuned checkpoint (BertForSequenceClassification + extra heads) to ONNX (fp32).

    python training/export_onnx.py --torch-dir models/review-sentiment/torch --out /tmp/rs/model.fp32.onnx

Inputs : input_ids int64 [batch, seq], attention_mask int64 [batch, seq]   (dynamic axes)
Outputs: logits  float32 [batch, 3]   sentiment logits, label order = config.id2label
         stars   float32 [batch]      expected star rating, E[star] over 1..5
         aspects float32 [batch, 4]   expected aspect scores over 1..5, order = heads_config.json
token_type_ids are all zero (single segment), so they are not an input.
The fp16 checkpoint is upcast to fp32 before export.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import BertForSequenceClassification


class ExportModel(torch.nn.Module):
    def __init__(self, torch_dir: Path):
        super().__init__()
        self.clf = BertForSequenceClassification.from_pretrained(
            torch_dir, dtype=torch.float32, attn_implementation="eager"
        ).eval()
        hc = json.loads((torch_dir / "heads_config.json").read_text())
        self.aspect_names = hc["aspects"]["names"]
        w = {k: v.float() for k, v in load_file(str(torch_dir / "heads.safetensors")).items()}
        h = self.clf.config.hidden_size
        self.stars = torch.nn.Linear(h, 5)
        self.aspects = torch.nn.Linear(h, 5 * len(self.aspect_names))
        self.stars.load_state_dict({"weight": w["stars.weight"], "bias": w["stars.bias"]})
        self.aspects.load_state_dict({"weight": w["aspects.weight"], "bias": w["aspects.bias"]})
        self.register_buffer("ev", torch.arange(1, 6, dtype=torch.float32))

    def forward(self, input_ids, attention_mask):
        out = self.clf.bert(input_ids=input_ids, attention_mask=attention_mask)
        pooled = out.pooler_output  # dropout is identity at inference
        logits = self.clf.classifier(pooled)
        stars = (self.stars(pooled).softmax(-1) * self.ev).sum(-1)
        asp = self.aspects(pooled).view(-1, len(self.aspect_names), 5)
        aspects = (asp.softmax(-1) * self.ev).sum(-1)
        return logits, stars, aspects


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torch-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args()

    torch.manual_seed(0)
    model = ExportModel(args.torch_dir).eval()
    ids = torch.tensor([[101, 2023, 3460, 2001, 2307, 102], [101, 9202, 102, 0, 0, 0]], dtype=torch.int64)
    mask = (ids != 0).long()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        ref = [t.numpy() for t in model(ids, mask)]
        torch.onnx.export(
            model,
            (ids, mask),
            str(args.out),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits", "stars", "aspects"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "logits": {0: "batch"},
                "stars": {0: "batch"},
                "aspects": {0: "batch"},
            },
            opset_version=args.opset,
            dynamo=False,
            do_constant_folding=True,
        )
    import onnxruntime as ort

    sess = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    for name, a, b in zip(("logits", "stars", "aspects"), ref, got, strict=True):
        err = float(np.abs(a - b).max())
        print(f"{name}: max |torch - onnx| = {err:.2e}")
        assert err < 1e-4, name
    # a longer sequence / other batch size through the dynamic axes
    ids2 = torch.randint(1000, 5000, (3, 40))
    ids2[:, 0], ids2[:, -1] = 101, 102
    with torch.no_grad():
        r2 = model(ids2, torch.ones_like(ids2))[0].numpy()
    g2 = sess.run(["logits"], {"input_ids": ids2.numpy(), "attention_mask": np.ones((3, 40), np.int64)})[0]
    assert np.abs(r2 - g2).max() < 1e-4
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
