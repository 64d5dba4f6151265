#!/usr/bin/env python3
"""Pack a Hugging Face model directory into int8 parts small enough for the GPU machine's upload
cap (64 MiB a call), and unpack it there.

Why int8: all-mpnet-base-v2 is 438 MB in fp32 and 219 MB in fp16, more than three calls' worth;
per-row symmetric int8 (one fp16 scale per output row, as in weight-only LLM.int8) halves fp16
again.  The round-trip error is ~0.4% of a row's largest weight, which fine-tuning absorbs; the
packed model is only ever a starting point for training, never served.  No torch needed.

    python training/transfer_weights.py pack /tmp/mpnet/all-mpnet-base-v2 .devcarry/mpnet --parts 2
    python training/transfer_weights.py unpack .devcarry/mpnet /tmp/mpnet   # on the GPU machine
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load, save

SIDE_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
MIN_QUANTIZED = 65_536  # smaller tensors (biases, LayerNorm) stay fp16


def pack(src: Path, dst: Path, parts: int) -> None:
    tensors = load((src / "model.safetensors").read_bytes())
    packed: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        value = value.astype(np.float32)
        if value.ndim == 2 and value.size >= MIN_QUANTIZED:
            scale = np.maximum(np.abs(value).max(axis=1, keepdims=True) / 127.0, 1e-12)
            packed[name + ".q8"] = np.clip(np.rint(value / scale), -127, 127).astype(np.int8)
            packed[name + ".scale"] = scale.astype(np.float16)
        else:
            packed[name + ".f16"] = value.astype(np.float16)
    blob = save(packed)
    dst.mkdir(parents=True, exist_ok=True)
    size = -(-len(blob) // parts)
    for i in range(parts):
        (dst / f"weights.part{i}").write_bytes(blob[i * size : (i + 1) * size])
    for f in SIDE_FILES:
        if (src / f).exists():
            shutil.copy(src / f, dst / f)
    print(f"packed {len(tensors)} tensors into {parts} parts of <= {size / 1e6:.1f} MB")


def unpack(src_dirs: list[Path], dst: Path) -> None:
    parts = sorted((p for d in src_dirs for p in d.glob("weights.part*")), key=lambda p: int(p.name[12:]))
    packed = load(b"".join(p.read_bytes() for p in parts))
    out: dict[str, np.ndarray] = {}
    for name, value in packed.items():
        if name.endswith(".q8"):
            base = name[: -len(".q8")]
            out[base] = value.astype(np.float32) * packed[base + ".scale"].astype(np.float32)
        elif name.endswith(".f16"):
            out[name[: -len(".f16")]] = value.astype(np.float32)
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "model.safetensors").write_bytes(save(out, metadata={"format": "pt"}))
    for d in src_dirs:
        for f in SIDE_FILES:
            if (d / f).exists():
                shutil.copy(d / f, dst / f)
    print(f"unpacked {len(out)} tensors from {len(parts)} parts into {dst}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p.add_argument("--parts", type=int, default=2)
    u = sub.add_parser("unpack")
    u.add_argument("dst", type=Path)
    u.add_argument("src", type=Path, nargs="+", help="folders holding weights.part* and the side files")
    args = ap.parse_args()
    if args.cmd == "pack":
        pack(args.src, args.dst, args.parts)
    else:
        unpack(args.src, args.dst)


if __name__ == "__main__":
    main()
