"""Make a fully fine-tuned cross-encoder small enough to ship: each Linear's change as a rank-r product, in float16.

    python -m training.cross_encoder_ship --full data/cross_encoders/full.npz --rank 32 [--out index/cross_encoders/...npz]

`training.cross_encoder --rank 0` fine-tunes every weight but the word embeddings (10.9M parameters, 44 MB of float32):
far too big to keep in the repository, which holds no file over 5 MB. What fine-tuning changes in a weight matrix
is close to low-rank, so each encoder Linear's delta (tuned minus packaged MiniLM) is kept as its best rank-r
approximation (truncated SVD, B = U S, A = V^T), which the build merges exactly like LoRA deltas
(`index.cross_encoder.merge_into`, scale 1). Biases, LayerNorms, the position embeddings, the pooler and the classifier are
kept whole. It prints how much of each delta the rank keeps and how far the logits of a few hundred
question-sentence pairs move.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from index.cross_encoder import SHIPPED, CrossEncoderFile, merged_model
from index.embedder import DEFAULT_MODEL, resolve_model

from .cross_encoder import TARGETS  # the encoder Linears; the pooler's dense is not in an encoder layer and stays whole


def low_rank_module(name: str) -> str | None:
    """The module name when `name` is an encoder Linear's weight, else None."""
    if ".encoder.layer." not in name or not name.endswith(".weight"):
        return None
    module = name[: -len(".weight")]
    return module if module.rsplit(".", 1)[-1] in TARGETS else None


def shrink(full: CrossEncoderFile, rank: int, model: str = DEFAULT_MODEL) -> tuple[CrossEncoderFile, dict[str, float]]:
    """`full`'s Linear deltas as rank-`rank` float16 pairs; the rest whole. Also: the share of each delta kept."""
    from transformers import AutoModelForSequenceClassification, logging

    logging.set_verbosity_error()
    base = AutoModelForSequenceClassification.from_pretrained(resolve_model(model), num_labels=1)
    base_params = {n: p.detach().numpy() for n, p in base.named_parameters()}
    lora: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    whole: dict[str, np.ndarray] = {}
    kept: dict[str, float] = {}
    for name, value in full.full.items():
        module = low_rank_module(name)
        if module is None:
            whole[name] = value.astype(np.float32)
            continue
        delta = value.astype(np.float64) - base_params[name].astype(np.float64)
        u, s, vt = np.linalg.svd(delta, full_matrices=False)
        r = min(rank, len(s))
        b = (u[:, :r] * s[:r]).astype(np.float16)
        a = vt[:r].astype(np.float16)
        lora[module] = (a, b)
        kept[module] = float(np.sqrt((s[:r] ** 2).sum() / max((s**2).sum(), 1e-30)))
    meta = dict(full.meta) | {"rank": rank, "alpha": float(rank), "targets": list(TARGETS)}
    meta["delta_norm_kept"] = round(float(np.mean(list(kept.values()))), 4)
    return CrossEncoderFile(meta, lora, whole), kept


def logit_drift(
    full: CrossEncoderFile, small: CrossEncoderFile, pairs: list[tuple[str, str]], model: str
) -> dict[str, float]:
    """How far the shipped form's logits are from the full model's on `pairs` (torch, fp32)."""
    import torch
    from transformers import AutoTokenizer

    path = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    batch = tokenizer(
        [q for q, _ in pairs], [s for _, s in pairs], padding=True, truncation=True, max_length=128, return_tensors="pt"
    )
    out = []
    for cross_encoder in (full, small):
        with torch.inference_mode():
            out.append(merged_model(cross_encoder, path)(**batch).logits[:, 0].numpy())
    diff = np.abs(out[0] - out[1])
    return {
        "max_abs": float(diff.max()),
        "mean_abs": float(diff.mean()),
        "corr": float(np.corrcoef(out[0], out[1])[0, 1]),
    }


def sample_pairs(squad2: Path, count: int) -> list[tuple[str, str]]:
    """Question-sentence pairs from SQuAD 2.0's held-out articles (never trained on): each question with its
    paragraph's sentences."""
    from .cross_encoder_data import DEV_ARTICLES_V2, article_text
    from .data import read_squad

    pairs: list[tuple[str, str]] = []
    for raw in read_squad(squad2):
        if raw["title"] not in DEV_ARTICLES_V2:
            continue
        article = article_text(raw)
        for question, paragraph, _ in article.questions[::25]:
            rows = np.flatnonzero(article.paragraph_of == paragraph)[:4]
            pairs += [(question, article.sentences[int(r)]) for r in rows]
    return pairs[:count]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    p = argparse.ArgumentParser(prog="python -m training.cross_encoder_ship", description=__doc__.split("\n\n")[0])
    p.add_argument("--full", type=Path, required=True, help="a cross-encoder file from training.cross_encoder --rank 0")
    p.add_argument("--rank", type=int, default=32, help="rank of each delta (32: a 4.5 MB file)")
    p.add_argument("--out", type=Path, default=SHIPPED)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--squad2", type=Path, help="SQuAD 2.0 dev articles: measure the logits' drift on them")
    p.add_argument("--pairs", type=int, default=400)
    args = p.parse_args(argv)
    full = CrossEncoderFile.read(args.full)
    small, kept = shrink(full, args.rank, args.model)
    print(
        f"rank {args.rank}: each delta's norm kept, mean {np.mean(list(kept.values())):.3f} "
        f"(min {min(kept.values()):.3f})",
        file=sys.stderr,
    )
    if args.squad2:
        drift = logit_drift(full, small, sample_pairs(args.squad2, args.pairs), args.model)
        small.meta["logit_drift"] = {k: round(v, 4) for k, v in drift.items()}
        print(f"logits against the full model: {drift}", file=sys.stderr)
    small.write(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
