#!/usr/bin/env python3
"""Fine-tune all-MiniLM-L6-v2 for review sentiment + star rating + aspect scores.

    python training/train.py --config training/config.yaml \
        --data /path/to/physician-reviews.jsonl[.gz] --out DIR

Runs on CPU or CUDA (auto).  Writes to DIR:
  torch/            BertForSequenceClassification checkpoint (fp16 safetensors, sharded) +
                    tokenizer files; `BertForSequenceClassification.from_pretrained(DIR/torch)`
                    loads encoder + pooler + sentiment classifier
  torch/heads.safetensors   the extra heads (stars, aspects) on the same pooled vector
  torch/heads_config.json   their description
  metrics.json      validation/test metrics of the model and of a TF-IDF + LR baseline
  train.log

Architecture: [CLS] -> BERT pooler (dense+tanh) -> dropout -> {
    classifier: Linear(384, 3)                 sentiment logits (negative, neutral, positive)
    stars:      Linear(384, 5)                 distribution over 1..5 stars, stars = E[star]
    aspects:    Linear(384, 4*5)               per-aspect distribution over 1..5, score = E[.] }
The sentiment head is exactly BertForSequenceClassification's.  Star/aspect heads are trained
with soft ordinal targets (rating 4.75 -> 25% on 4, 75% on 5) so their expectation is unbiased.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import logging
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from services.sentiment.preprocess import TRUNCATION_STRATEGY, encode_batch  # noqa: E402

log = logging.getLogger("train")


# --------------------------------------------------------------------------------------- data
def read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def make_splits(rows: list[dict], fractions: dict, seed: int) -> dict[str, list[str]]:
    """Doctor-disjoint split: shuffle the sorted doctor ids with `seed`, cut by cumulative
    review count so each split gets ~its fraction of the *reviews*."""
    by_doc: dict[str, list[str]] = {}
    for r in rows:
        by_doc.setdefault(r["doctor"], []).append(r["id"])
    doctors = sorted(by_doc)
    random.Random(seed).shuffle(doctors)
    total = len(rows)
    names = ["train", "validation", "test"]
    bounds = np.cumsum([fractions[n] for n in names]) * total
    out: dict[str, list[str]] = {n: [] for n in names}
    seen = 0
    for d in doctors:
        k = next(i for i, b in enumerate(bounds) if seen < b or i == len(bounds) - 1)
        out[names[k]].extend(by_doc[d])
        seen += len(by_doc[d])
    return {n: sorted(v) for n, v in out.items()}


def load_or_create_splits(rows, cfg_data, path: Path) -> dict[str, list[str]]:
    if path.exists():
        with gzip.open(path, "rt") as fh:
            sp = json.load(fh)
        log.info("using existing split file %s", path)
    else:
        sp = make_splits(rows, cfg_data["split_fractions"], cfg_data["split_seed"])
        sp = {
            "description": "doctor-disjoint split of physician-reviews.jsonl, review ids per split",
            "split_by": cfg_data["split_by"],
            "seed": cfg_data["split_seed"],
            "fractions": cfg_data["split_fractions"],
            **sp,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(json.dumps(sp, sort_keys=True).encode())
        log.info("wrote new split file %s", path)
    return {k: sp[k] for k in ("train", "validation", "test")}


# ------------------------------------------------------------------------------------ metrics
def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def confusion(y: np.ndarray, p: np.ndarray, k: int = 3) -> np.ndarray:
    return np.bincount(y * k + p, minlength=k * k).reshape(k, k)


def prf_from_confusion(cm: np.ndarray):
    tp = np.diag(cm).astype(float)
    prec = np.divide(tp, cm.sum(0), out=np.zeros_like(tp), where=cm.sum(0) > 0)
    rec = np.divide(tp, cm.sum(1), out=np.zeros_like(tp), where=cm.sum(1) > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=(prec + rec) > 0)
    return prec, rec, f1


def ece(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    conf = probs.max(1)
    correct = (probs.argmax(1) == y).astype(float)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def nll(logits: np.ndarray, y: np.ndarray, t: float = 1.0) -> float:
    return float(-log_softmax(logits / t)[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising validation NLL (log-spaced grid, then local refinement)."""
    grid = np.exp(np.linspace(np.log(0.2), np.log(10.0), 400))
    losses = [nll(logits, y, t) for t in grid]
    i = int(np.argmin(losses))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    fine = np.linspace(lo, hi, 200)
    return float(fine[int(np.argmin([nll(logits, y, t) for t in fine]))])


def decide(logprobs: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return (logprobs + bias).argmax(-1)


def tune_bias(logprobs: np.ndarray, y: np.ndarray, grid_cfg: dict, min_rec: float, min_prec: float):
    """Grid-search additive log-prob biases (b_neg, b_neu, 0) maximising macro-F1 subject to
    negative recall/precision constraints (labels: 0=negative, 1=neutral, 2=positive)."""
    g = np.arange(grid_cfg["min"], grid_cfg["max"] + 1e-9, grid_cfg["step"])
    best = None  # (feasible, macro_f1, bneg, bneu)
    n = len(y)
    onehot = np.eye(3)[y]
    for bneg in g:
        # scores: (len(g), n, 3)
        s = logprobs[None, :, :] + np.stack([np.full_like(g, bneg), g, np.zeros_like(g)], axis=1)[:, None, :]
        pred = s.argmax(-1)
        ph = np.eye(3)[pred]  # (G, n, 3)
        tp = (ph * onehot[None]).sum(1)
        pp = ph.sum(1)
        ap = onehot.sum(0)[None]
        prec = np.divide(tp, pp, out=np.zeros_like(tp), where=pp > 0)
        rec = tp / np.maximum(ap, 1)
        f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=(prec + rec) > 0)
        mf1 = f1.mean(1)
        feas = (rec[:, 0] >= min_rec) & (prec[:, 0] >= min_prec)
        for j in range(len(g)):
            cand = (bool(feas[j]), float(mf1[j]), float(bneg), float(g[j]))
            if best is None or cand[:2] > best[:2]:
                best = cand
    del n
    return np.array([best[2], best[3], 0.0]), {"feasible": best[0], "val_macro_f1": best[1]}


def classification_report(y: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict:
    cm = confusion(y, pred)
    p, r, f = prf_from_confusion(cm)
    return {
        "macro_f1": float(f.mean()),
        "accuracy": float((y == pred).mean()),
        "per_class": {
            lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(cm[i].sum())}
            for i, lab in enumerate(labels)
        },
        "negative_precision": float(p[0]),
        "negative_recall": float(r[0]),
        "confusion_matrix": {"rows_true_cols_pred": labels, "matrix": cm.tolist()},
    }


def full_report(logits, stars, aspects, y, rating, asp_true, labels, aspect_names, t, bias) -> dict:
    lp_t = log_softmax(logits / t)
    probs_t = np.exp(lp_t)
    rep = {
        "n": len(y),
        "argmax": classification_report(y, logits.argmax(1), labels),
        "decision_rule": classification_report(y, decide(lp_t, bias), labels),
        "nll_before": nll(logits, y),
        "nll_after": nll(logits, y, t),
        "ece_before": ece(softmax(logits), y),
        "ece_after": ece(probs_t, y),
    }
    if stars is not None:
        rep["star_mae"] = float(np.abs(stars - rating).mean())
        star_lab = np.where(stars <= 2.0, 0, np.where(stars < 3.7, 1, 2))
        rep["label_from_stars"] = {"macro_f1": classification_report(y, star_lab, labels)["macro_f1"]}
    if aspects is not None:
        mae = np.nanmean(np.abs(aspects - asp_true), axis=0)  # missing aspect ratings ignored
        rep["aspect_mae"] = {a: float(m) for a, m in zip(aspect_names, mae, strict=True)}
        rep["aspect_mae_mean"] = float(mae.mean())
    return rep


# ------------------------------------------------------------------------------- TF-IDF + LR
def tfidf_baseline(texts, y, ratings, aspects, splits_idx, labels, aspect_names, dec_cfg) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, Ridge

    tr, va, te = (splits_idx[k] for k in ("train", "validation", "test"))
    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, max_features=300_000)
    xtr = vec.fit_transform([texts[i] for i in tr])
    xva = vec.transform([texts[i] for i in va])
    xte = vec.transform([texts[i] for i in te])
    lr = LogisticRegression(class_weight="balanced", max_iter=3000, C=1.0)
    lr.fit(xtr, y[tr])
    asp_fill = np.where(np.isnan(aspects), ratings[:, None], aspects)
    rg = Ridge(alpha=1.0).fit(xtr, np.c_[ratings[tr], asp_fill[tr]])
    out = {
        "config": "TfidfVectorizer(sublinear_tf, ngram 1-2, min_df 2, max_features 300k) + "
        "LogisticRegression(class_weight=balanced, C=1); Ridge(alpha=1) for stars/aspects"
    }
    lz_va = lr.predict_log_proba(xva)
    t = fit_temperature(lz_va, y[va])
    bias, info = tune_bias(
        log_softmax(lz_va / t), y[va], dec_cfg["bias_grid"], dec_cfg["min_neg_recall"], dec_cfg["min_neg_precision"]
    )
    out["temperature"], out["bias"], out["bias_search"] = t, bias.tolist(), info
    for name, idx, x in (("validation", va, xva), ("test", te, xte)):
        lz = lr.predict_log_proba(x)
        reg = np.clip(rg.predict(x), 1, 5)
        out[name] = full_report(
            lz, reg[:, 0], reg[:, 1:], y[idx], ratings[idx], aspects[idx], labels, aspect_names, t, bias
        )
    return out


# ------------------------------------------------------------------------------------- torch
def build_model(torch, base: str, labels: list[str], n_aspects: int, dropout: float):
    """The shipped architecture for BERT checkpoints (exportable, see export_onnx.py); any other
    encoder (the MPNet teacher) gets the same three heads on a mean-pooled vector instead."""
    import torch.nn as nn
    from transformers import AutoConfig

    if AutoConfig.from_pretrained(base).model_type != "bert":
        return _build_generic_model(torch, base, labels, n_aspects, dropout)
    from transformers import BertForSequenceClassification

    clf = BertForSequenceClassification.from_pretrained(
        base,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={lab: i for i, lab in enumerate(labels)},
        dtype=torch.float32,
        hidden_dropout_prob=dropout,
    )
    clf.config.problem_type = "single_label_classification"

    class ReviewModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.clf = clf
            h = clf.config.hidden_size
            self.stars = nn.Linear(h, 5)
            self.aspects = nn.Linear(h, n_aspects * 5)
            for lin in (self.stars, self.aspects):
                nn.init.normal_(lin.weight, std=clf.config.initializer_range)
                nn.init.zeros_(lin.bias)

        def forward(self, input_ids, attention_mask):
            out = self.clf.bert(input_ids=input_ids, attention_mask=attention_mask)
            pooled = self.clf.dropout(out.pooler_output)  # == BertForSequenceClassification
            return (self.clf.classifier(pooled), self.stars(pooled), self.aspects(pooled).view(-1, n_aspects, 5))

    return ReviewModel()


def _build_generic_model(torch, base: str, labels: list[str], n_aspects: int, dropout: float):
    """Teacher-only model (not exported): encoder -> masked mean pooling -> dropout -> heads.
    Mean pooling is what sentence-transformers trained all-mpnet-base-v2 with."""
    import torch.nn as nn
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(base, dtype=torch.float32, hidden_dropout_prob=dropout)

    class GenericReviewModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            h = encoder.config.hidden_size
            self.classifier = nn.Linear(h, len(labels))
            self.stars = nn.Linear(h, 5)
            self.aspects = nn.Linear(h, n_aspects * 5)
            for lin in (self.classifier, self.stars, self.aspects):
                nn.init.normal_(lin.weight, std=encoder.config.initializer_range)
                nn.init.zeros_(lin.bias)

        def forward(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = self.dropout((hidden * m).sum(1) / m.sum(1).clamp(min=1.0))
            return self.classifier(pooled), self.stars(pooled), self.aspects(pooled).view(-1, n_aspects, 5)

    return GenericReviewModel()


def doctor_fold(doctor: str, k: int) -> int:
    """Stable doctor-disjoint fold for cross-fitted teachers (the same doctor is never split)."""
    return int(hashlib.sha1(doctor.encode()).hexdigest()[:8], 16) % k


def load_teacher_probs(path: str, ids: list[str], temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Soft targets from a teacher's `--predict-out` file(s) (comma-separated).

    For each review, average the logits of the files that did NOT train on it (`held_out`), so a
    cross-fitted teacher gives out-of-fold targets instead of memorised ones.  Returns
    (probabilities at `temperature`, has_target mask)."""
    pos = {i: n for n, i in enumerate(ids)}
    total = np.zeros((len(ids), 3), dtype=np.float64)
    count = np.zeros(len(ids), dtype=np.int64)
    for one in path.split(","):
        with np.load(one, allow_pickle=False) as z:
            rows = np.array([pos.get(str(i), -1) for i in z["ids"]])
            keep = (rows >= 0) & z["held_out"]
            np.add.at(total, rows[keep], z["logits"][keep].astype(np.float64))
            np.add.at(count, rows[keep], 1)
    has = count > 0
    logits = total / np.maximum(count, 1)[:, None]
    return softmax(logits / temperature).astype(np.float32), has


def soft_ordinal(values: np.ndarray) -> np.ndarray:
    """Values in [1,5] -> distribution over {1..5} on the two nearest integers (mean = value)."""
    v = np.clip(values, 1.0, 5.0) - 1.0
    lo = np.floor(v).astype(int).clip(0, 4)
    frac = v - lo
    out = np.zeros((*v.shape, 5), dtype=np.float32)
    np.put_along_axis(out, lo[..., None], (1 - frac)[..., None], axis=-1)
    hi = np.minimum(lo + 1, 4)
    add = np.zeros_like(out)
    np.put_along_axis(add, hi[..., None], frac[..., None], axis=-1)
    return out + add


def length_batches(lengths: np.ndarray, bs: int, rng: np.random.Generator) -> list[np.ndarray]:
    idx = rng.permutation(len(lengths))
    chunk = bs * 50
    batches = []
    for s in range(0, len(idx), chunk):
        c = idx[s : s + chunk]
        c = c[np.argsort(lengths[c], kind="stable")]
        batches.extend(c[i : i + bs] for i in range(0, len(c), bs))
    rng.shuffle(batches)
    return batches


def collate(torch, ids_list, idx, device):
    m = max(len(ids_list[i]) for i in idx)
    ids = np.zeros((len(idx), m), dtype=np.int64)
    mask = np.zeros((len(idx), m), dtype=np.int64)
    for r, i in enumerate(idx):
        ids[r, : len(ids_list[i])] = ids_list[i]
        mask[r, : len(ids_list[i])] = 1
    return torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)


def predict(torch, model, ids_list, idx_all, device, bs):
    model.eval()
    order = np.asarray(idx_all)[np.argsort([len(ids_list[i]) for i in idx_all], kind="stable")]
    outs = {}
    with torch.no_grad():
        for s in range(0, len(order), bs):
            b = order[s : s + bs]
            ids, mask = collate(torch, ids_list, b, device)
            lg, st, asp = model(ids, mask)
            ev = torch.arange(1, 6, device=device, dtype=torch.float32)
            lg = lg.float().cpu().numpy()
            stars = (st.float().softmax(-1) * ev).sum(-1).cpu().numpy()
            aspects = (asp.float().softmax(-1) * ev).sum(-1).cpu().numpy()
            for j, i in enumerate(b):
                outs[int(i)] = (lg[j], float(stars[j]), aspects[j])
    logits = np.stack([outs[int(i)][0] for i in idx_all])
    stars = np.array([outs[int(i)][1] for i in idx_all])
    aspects = np.stack([outs[int(i)][2] for i in idx_all])
    return logits, stars, aspects


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--base", help="override model.base (dir with config.json, weights, tokenizer)")
    ap.add_argument("--limit", type=int, default=0, help="smoke test: use only N reviews per split")
    ap.add_argument("--epochs", type=int, help="override train.epochs")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop starting new epochs after this")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--holdout-fold",
        metavar="I/K",
        help="cross-fitted teacher: train on the training reviews outside doctor fold I of K",
    )
    ap.add_argument(
        "--predict-out",
        metavar="NPZ",
        help="write raw sentiment logits for every review in the splits (teacher targets)",
    )
    ap.add_argument(
        "--teacher",
        metavar="NPZ[,NPZ...]",
        help="distil from these --predict-out files (out-of-fold logits; see train.distill_*)",
    )
    ap.add_argument("--no-save", action="store_true", help="skip the checkpoint (teacher runs)")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.lr=5e-5 (value parsed as YAML)",
    )
    args = ap.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        handlers=[logging.StreamHandler(), logging.FileHandler(out / "train.log")],
    )
    t_start = time.time()
    cfg = yaml.safe_load(Path(args.config).read_text())
    for kv in args.set:
        key, _, val = kv.partition("=")
        node = cfg
        *path, leaf = key.split(".")
        for part in path:
            node = node[part]
        node[leaf] = yaml.safe_load(val)
    log.info("config %s", json.dumps(cfg, sort_keys=True))
    tcfg, dcfg = cfg["train"], cfg["decision"]
    if args.epochs:
        tcfg["epochs"] = args.epochs
    labels, aspect_names = cfg["model"]["labels"], cfg["model"]["aspects"]
    base = args.base or cfg["model"]["base"]
    if not Path(base).is_absolute() and not Path(base).exists():
        base = str(REPO / base)

    import torch
    from transformers import AutoTokenizer

    seed = cfg["seed"]
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device(
        "cuda"
        if (args.device == "auto" and torch.cuda.is_available())
        else ("cpu" if args.device == "auto" else args.device)
    )
    use_bf16 = bool(tcfg.get("bf16")) and device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    log.info("device=%s bf16=%s torch=%s", device, use_bf16, torch.__version__)

    rows = read_jsonl(args.data)
    split_path = Path(cfg["data"]["split_file"])
    if not split_path.is_absolute():
        split_path = REPO / split_path
    splits = load_or_create_splits(rows, cfg["data"], split_path)
    pos = {r["id"]: i for i, r in enumerate(rows)}
    splits_idx = {k: np.array([pos[i] for i in v]) for k, v in splits.items()}
    if args.limit:
        rng0 = np.random.default_rng(0)
        splits_idx = {k: np.sort(rng0.choice(v, min(args.limit, len(v)), replace=False)) for k, v in splits_idx.items()}
    all_split_rows = np.concatenate([splits_idx[k] for k in ("train", "validation", "test")])
    held_out = np.ones(len(rows), dtype=bool)  # reviews this run does not train on
    if args.holdout_fold:
        fold, k_folds = (int(x) for x in args.holdout_fold.split("/"))
        if not (k_folds >= 2 and 0 <= fold < k_folds):
            ap.error(f"--holdout-fold {args.holdout_fold}: need 0 <= I < K and K >= 2")
        tr_all = splits_idx["train"]
        in_fold = np.array([doctor_fold(rows[i]["doctor"], k_folds) == fold for i in tr_all])
        splits_idx["train"] = tr_all[~in_fold]
        log.info("holdout fold %d/%d: training on %d of %d reviews", fold, k_folds, (~in_fold).sum(), len(tr_all))
    held_out[splits_idx["train"]] = False
    for k, v in splits_idx.items():
        log.info("split %s: %d reviews", k, len(v))

    lab2id = {lab: i for i, lab in enumerate(labels)}
    texts = [r["text"] for r in rows]
    y = np.array([lab2id[r["label"]] for r in rows])
    ratings = np.array([float(r["rating"]) for r in rows])
    asp = np.array([[float(r["aspects"].get(a, np.nan)) for a in aspect_names] for r in rows])  # 213 lack staff

    tok = AutoTokenizer.from_pretrained(base)
    mx, head = cfg["text"]["max_length"], cfg["text"]["head_tokens"]
    used = np.unique(all_split_rows)
    t0 = time.time()
    enc_ids, enc_trunc = encode_batch(tok, [texts[i] for i in used], max_length=mx, head_tokens=head)
    ids_list: dict[int, list[int]] = {int(i): e for i, e in zip(used, enc_ids, strict=True)}
    log.info(
        "tokenised %d texts in %.1fs; %.1f%% truncated (head %d + tail %d of %d)",
        len(used),
        time.time() - t0,
        100 * np.mean(enc_trunc),
        head,
        mx - 2 - head,
        mx,
    )

    tr = splits_idx["train"]
    counts = np.bincount(y[tr], minlength=3).astype(float)
    cw = (counts.max() / np.maximum(counts, 1)) ** tcfg["class_weight_power"]
    log.info("train class counts %s -> CE weights %s", counts.tolist(), np.round(cw, 3).tolist())

    model = build_model(torch, base, labels, len(aspect_names), cfg["model"]["dropout"]).to(device)
    heads = ("clf.classifier", "classifier", "stars", "aspects")
    no_decay = ("bias", "LayerNorm.weight")
    groups = []
    for is_head in (False, True):
        for decay in (True, False):
            ps = [
                p
                for n, p in model.named_parameters()
                if n.startswith(heads) == is_head and (not any(k in n for k in no_decay)) == decay
            ]
            groups.append(
                {
                    "params": ps,
                    "lr": tcfg["head_lr"] if is_head else tcfg["lr"],
                    "weight_decay": tcfg["weight_decay"] if decay else 0.0,
                }
            )
    opt = torch.optim.AdamW(groups, betas=(0.9, 0.999), eps=1e-6)
    bs = tcfg["batch_size"]
    steps_per_epoch = math.ceil(len(tr) / bs)
    total = steps_per_epoch * tcfg["epochs"]
    warm = int(tcfg["warmup_ratio"] * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(warm, 1) if s < warm else max(0.0, (total - s) / max(total - warm, 1))
    )

    ce_w = torch.tensor(cw, dtype=torch.float32, device=device)
    y_t = torch.tensor(y, device=device)
    star_t = torch.tensor(soft_ordinal(ratings), device=device)
    asp_mask = torch.tensor(~np.isnan(asp), dtype=torch.float32, device=device)
    asp_t = torch.tensor(soft_ordinal(np.nan_to_num(asp, nan=3.0)), device=device)
    lw = tcfg["loss_weights"]
    kd_alpha, kd_t = float(tcfg.get("distill_alpha", 0.0)), float(tcfg.get("distill_temperature", 2.0))
    teacher_t = teacher_has = None
    if args.teacher:
        probs, has = load_teacher_probs(args.teacher, [r["id"] for r in rows], kd_t)
        log.info(
            "teacher targets for %d of %d training reviews (alpha %.2f, T %.1f)",
            has[splits_idx["train"]].sum(),
            len(splits_idx["train"]),
            kd_alpha,
            kd_t,
        )
        coverage = has[splits_idx["train"]].mean()
        if coverage < 0.99:
            raise SystemExit(f"teacher targets cover only {coverage:.1%} of the training reviews; check --teacher")
        teacher_t = torch.tensor(probs, device=device)
        teacher_has = torch.tensor(has, dtype=torch.float32, device=device)
    lengths = np.zeros(len(rows), dtype=np.int64)
    for i, e in ids_list.items():
        lengths[i] = len(e)

    va = splits_idx["validation"]
    rng = np.random.default_rng(seed)
    best = {"score": -1.0}
    history = []
    bad = 0
    t_train = time.time()
    for epoch in range(1, tcfg["epochs"] + 1):
        model.train()
        te0 = time.time()
        run = np.zeros(4)
        nb = 0
        for b in length_batches(lengths[tr], bs, rng):
            bi = tr[b]
            ids, mask = collate(torch, ids_list, bi, device)
            bt = torch.from_numpy(bi).to(device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
                lg, st, ap_ = model(ids, mask)
            lg, st, ap_ = lg.float(), st.float(), ap_.float()
            if teacher_t is not None and kd_alpha > 0:
                # Hinton et al. (2015): KL(teacher_T || student_T) * T^2, mixed per review so one
                # without a teacher target keeps its full cross-entropy weight
                tp, th = teacher_t[bt], teacher_has[bt]
                w = ce_w[y_t[bt]]
                ce = torch.nn.functional.cross_entropy(lg, y_t[bt], reduction="none") * w
                kl = (tp * (tp.clamp(min=1e-8).log() - (lg / kd_t).log_softmax(-1))).sum(-1) * kd_t * kd_t
                mix = th * kd_alpha
                l_sent = ((1 - mix) * ce + mix * kl).sum() / w.sum()
            else:
                l_sent = torch.nn.functional.cross_entropy(lg, y_t[bt], weight=ce_w)
            l_star = -(star_t[bt] * st.log_softmax(-1)).sum(-1).mean()
            am = asp_mask[bt]
            l_asp = (-(asp_t[bt] * ap_.log_softmax(-1)).sum(-1) * am).sum() / am.sum().clamp(min=1)
            loss = lw["sentiment"] * l_sent + lw["stars"] * l_star + lw["aspects"] * l_asp
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
            opt.step()
            sched.step()
            run += [loss.item(), l_sent.item(), l_star.item(), l_asp.item()] if nb % 20 == 0 else 0
            nb += 1
            if nb % 200 == 0:
                log.info("  epoch %d step %d/%d  %.1fs", epoch, nb, steps_per_epoch, time.time() - te0)
        lv, sv, av = predict(torch, model, ids_list, va, device, tcfg["eval_batch_size"])
        t = fit_temperature(lv, y[va])
        bias, info = tune_bias(
            log_softmax(lv / t), y[va], dcfg["bias_grid"], dcfg["min_neg_recall"], dcfg["min_neg_precision"]
        )
        raw = classification_report(y[va], lv.argmax(1), labels)
        h = {
            "epoch": epoch,
            "seconds": round(time.time() - te0, 1),
            "train_loss_sampled": (run / max(1, math.ceil(nb / 20))).round(4).tolist(),
            "val_macro_f1_argmax": round(raw["macro_f1"], 4),
            "val_macro_f1_tuned": round(info["val_macro_f1"], 4),
            "feasible": info["feasible"],
            "val_star_mae": round(float(np.abs(sv - ratings[va]).mean()), 4),
            "temperature": round(t, 3),
            "bias": bias.round(2).tolist(),
        }
        history.append(h)
        log.info("epoch %s", json.dumps(h))
        score = info["val_macro_f1"] + (0.0 if info["feasible"] else -1.0)
        if score > best["score"]:
            best = {
                "score": score,
                "epoch": epoch,
                "state": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
            }
            bad = 0
        else:
            bad += 1
            if bad >= tcfg["early_stopping_patience"]:
                log.info("early stopping after epoch %d (best %d)", epoch, best["epoch"])
                break
        if args.max_minutes and (time.time() - t_start + 1.1 * (time.time() - te0)) / 60 > args.max_minutes:
            log.info("time budget reached after epoch %d", epoch)
            break
    train_seconds = time.time() - t_train
    model.load_state_dict(best["state"])
    log.info("best epoch %d; training took %.1fs", best["epoch"], train_seconds)

    # ---- calibration + decision rule on VALIDATION, report on validation and test
    te = splits_idx["test"]
    lv, sv, av = predict(torch, model, ids_list, va, device, tcfg["eval_batch_size"])
    lt, st_, at = predict(torch, model, ids_list, te, device, tcfg["eval_batch_size"])
    t = fit_temperature(lv, y[va])
    bias, info = tune_bias(
        log_softmax(lv / t), y[va], dcfg["bias_grid"], dcfg["min_neg_recall"], dcfg["min_neg_precision"]
    )
    metrics = {
        "config": cfg,
        "model": {
            "base": cfg["model"].get("base_name", base),
            "holdout_fold": args.holdout_fold,
            "teacher": bool(args.teacher),
            "device": str(device) + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""),
            "best_epoch": best["epoch"],
            "history": history,
            "train_seconds": round(train_seconds, 1),
            "temperature": t,
            "bias": bias.tolist(),
            "bias_search": info,
            "labels": labels,
            "truncation": {"strategy": TRUNCATION_STRATEGY, "max_length": mx, "head_tokens": head},
            "validation": full_report(lv, sv, av, y[va], ratings[va], asp[va], labels, aspect_names, t, bias),
            "test": full_report(lt, st_, at, y[te], ratings[te], asp[te], labels, aspect_names, t, bias),
        },
        "splits": {k: len(v) for k, v in splits_idx.items()},
        "split_label_counts": {k: np.bincount(y[v], minlength=3).tolist() for k, v in splits_idx.items()},
    }
    for name in ("validation", "test"):
        m = metrics["model"][name]["decision_rule"]
        log.info(
            "MODEL %s: macroF1=%.4f negP=%.4f negR=%.4f starMAE=%.4f ECE %.4f->%.4f",
            name,
            m["macro_f1"],
            m["negative_precision"],
            m["negative_recall"],
            metrics["model"][name]["star_mae"],
            metrics["model"][name]["ece_before"],
            metrics["model"][name]["ece_after"],
        )

    if args.predict_out:
        every = all_split_rows
        lg_all, _, _ = predict(torch, model, ids_list, every, device, tcfg["eval_batch_size"])
        np.savez(
            args.predict_out,
            ids=np.array([rows[i]["id"] for i in every]),
            logits=lg_all.astype(np.float32),
            held_out=held_out[every],
            temperature=np.float32(t),
        )
        log.info("wrote %s (%d reviews)", args.predict_out, len(every))

    if args.no_save or not hasattr(model, "clf"):
        metrics["total_seconds"] = round(time.time() - t_start, 1)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        log.info("wrote %s (no checkpoint; total %.1fs)", out / "metrics.json", metrics["total_seconds"])
        return 0

    # ---- save: HF checkpoint (fp16) + extra heads
    tdir = out / "torch"
    tdir.mkdir(exist_ok=True)
    from safetensors.torch import save_file

    model.clf.to(torch.float16).save_pretrained(tdir, max_shard_size=cfg["export"]["shard_size"])
    tok.save_pretrained(tdir)
    save_file(
        {
            f"{n}.{k}": v.detach().to("cpu", torch.float16).contiguous()
            for n in ("stars", "aspects")
            for k, v in getattr(model, n).state_dict().items()
        },
        str(tdir / "heads.safetensors"),
        metadata={"format": "pt"},
    )
    (tdir / "heads_config.json").write_text(
        json.dumps(
            {
                "input": "dropout(pooler_output) of the BERT in this directory (same vector as the classifier)",
                "stars": {
                    "weight": "stars.weight",
                    "bias": "stars.bias",
                    "out": "logits over 1..5 stars; stars = sum(softmax * [1..5])",
                },
                "aspects": {
                    "weight": "aspects.weight",
                    "bias": "aspects.bias",
                    "names": aspect_names,
                    "out": "logits reshaped (n_aspects, 5) over 1..5; score = sum(softmax * [1..5])",
                },
                "labels": labels,
                "temperature": t,
                "bias": bias.tolist(),
                "truncation": {"strategy": TRUNCATION_STRATEGY, "max_length": mx, "head_tokens": head},
            },
            indent=2,
        )
    )

    if not args.no_baseline:
        tb = time.time()
        metrics["tfidf_lr"] = tfidf_baseline(texts, y, ratings, asp, splits_idx, labels, aspect_names, dcfg)
        log.info("tfidf baseline %.1fs", time.time() - tb)
        for name in ("validation", "test"):
            m = metrics["tfidf_lr"][name]
            log.info(
                "TFIDF %s: argmax macroF1=%.4f negP=%.4f negR=%.4f | "
                "tuned macroF1=%.4f negP=%.4f negR=%.4f | starMAE=%.4f",
                name,
                m["argmax"]["macro_f1"],
                m["argmax"]["negative_precision"],
                m["argmax"]["negative_recall"],
                m["decision_rule"]["macro_f1"],
                m["decision_rule"]["negative_precision"],
                m["decision_rule"]["negative_recall"],
                m["star_mae"],
            )
    metrics["total_seconds"] = round(time.time() - t_start, 1)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    log.info("wrote %s (total %.1fs)", out / "metrics.json", metrics["total_seconds"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
