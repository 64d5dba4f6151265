"""Text preparation shared by training (training/train.py) and the runtime (model.py).

Pure Python, no torch / numpy / onnxruntime, so that both sides import exactly the same
code.  The pipeline for one review is::

    clean = prepare_text(raw)                          # sanitise + cap pathological sizes
    ids = tokenizer(clean, add_special_tokens=False)   # the model's WordPiece tokenizer
    input_ids, truncated = head_tail_ids(ids, ...)     # [CLS] head ... tail [SEP]

Long reviews are truncated "head+tail" (Sun et al. 2019, "How to Fine-Tune BERT for Text
Classification?"): with a budget of ``max_length`` tokens including [CLS] and [SEP], keep the
first ``head_tokens`` word pieces and fill the rest of the budget with the *last* word pieces.
Reviews typically open with context and end with the verdict, so the tail carries more signal
than the middle.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Lone UTF-16 surrogates (e.g. from JSON "\ud83d" without its pair) cannot be encoded as UTF-8,
# which the Rust tokenizer requires; replace them with U+FFFD like errors="replace" would.
_SURROGATES = re.compile("[\ud800-\udfff]")

# Texts longer than this many characters are cut to their first CHAR_HEAD and last CHAR_TAIL
# characters *before* tokenisation.  This only bounds tokenisation cost on pathological inputs
# (megabyte pastes); it cannot change which tokens survive for ordinary text, since the head
# keeps far more than ``head_tokens`` word pieces' worth of characters and the tail far more
# than the tail budget.  The longest training review is ~9k characters.
CHAR_CAP = 20_000
CHAR_HEAD = 5_000
CHAR_TAIL = 15_000

DEFAULT_MAX_LENGTH = 256
DEFAULT_HEAD_TOKENS = 64
TRUNCATION_STRATEGY = "head+tail"


def prepare_text(text: str) -> tuple[str, bool]:
    """Sanitise one raw text.  Returns (clean_text, was_char_capped)."""
    if not isinstance(text, str):
        raise TypeError(f"review text must be str, got {type(text).__name__}")
    text = _SURROGATES.sub("\ufffd", text)
    capped = False
    if len(text) > CHAR_CAP:
        text = text[:CHAR_HEAD] + " " + text[-CHAR_TAIL:]
        capped = True
    return text, capped


def head_tail_ids(
    ids: Sequence[int],
    *,
    cls_id: int,
    sep_id: int,
    max_length: int = DEFAULT_MAX_LENGTH,
    head_tokens: int = DEFAULT_HEAD_TOKENS,
) -> tuple[list[int], bool]:
    """Wrap word-piece ids (without special tokens) as ``[CLS] ids [SEP]`` within ``max_length``.

    If they do not fit, keep the first ``head_tokens`` and the last
    ``max_length - 2 - head_tokens`` ids.  Returns (input_ids, truncated).
    """
    budget = max_length - 2
    if not 0 <= head_tokens <= budget:
        raise ValueError(f"head_tokens={head_tokens} must be within [0, {budget}]")
    ids = list(ids)
    if len(ids) <= budget:
        return [cls_id, *ids, sep_id], False
    tail = budget - head_tokens
    kept = ids[:head_tokens] + (ids[len(ids) - tail :] if tail > 0 else [])
    return [cls_id, *kept, sep_id], True


def encode_batch(
    tokenizer,
    texts: Sequence[str],
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    head_tokens: int = DEFAULT_HEAD_TOKENS,
) -> tuple[list[list[int]], list[bool]]:
    """Full pipeline for a batch with a Hugging Face (fast) tokenizer.

    Returns (input_ids per text, truncated flag per text); ids include [CLS]/[SEP], no padding.
    """
    prepared = [prepare_text(t) for t in texts]
    clean = [p[0] for p in prepared]
    if not clean:
        return [], []
    enc = tokenizer(clean, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    out_ids: list[list[int]] = []
    flags: list[bool] = []
    for (_, capped), ids in zip(prepared, enc, strict=True):
        wrapped, cut = head_tail_ids(ids, cls_id=cls_id, sep_id=sep_id, max_length=max_length, head_tokens=head_tokens)
        out_ids.append(wrapped)
        flags.append(cut or capped)
    return out_ids, flags
