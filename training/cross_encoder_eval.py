"""A quick held-out check of a cross-encoder file, beside plain fusion, on articles it never trained on.

    python -m training.cross_encoder_eval --cross-encoder index/cross_encoders/x.npz --squad ... --squad2 ... [--top 10]

Per question, the article's sentences are ranked by z-scored BM25 + cosine (fusion); the top N are read by the
cross-encoder. Reported: "the first sentence holds the answer" for fusion, the cross-encoder alone, and the cross-encoder plus
0.3 x the fused score, on held-out SQuAD v1 articles and the SQuAD 2.0 dev articles' answerable questions; and
the share of SQuAD 2.0's unanswerable questions declined when the threshold on the best cross-encoder logit still
answers 90% / 80% of the answerable ones. The engine's own figures come from benchmarks.quality.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.cross_encoder import CrossEncoderFile, merged_model
from index.embedder import DEFAULT_MODEL, load_encoder, resolve_model
from index.features import zscore

from .cross_encoder_args import load_articles, parser
from .cross_encoder_data import DEV_ARTICLES_V2, ArticleScorer, ArticleText, article_text, holds


class TorchCrossEncoder:
    """The merged cross-encoder in torch, for training-time checks (serving uses the ONNX export)."""

    def __init__(self, cross_encoder: CrossEncoderFile, model: str = DEFAULT_MODEL) -> None:
        from transformers import AutoTokenizer

        path = resolve_model(model)
        self.model = merged_model(cross_encoder, path)
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.max_length = int(cross_encoder.meta.get("max_length", 128))

    def logits(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        import torch

        batch = self.tokenizer(
            [question] * len(sentences),
            list(sentences),
            padding=True,
            truncation="only_second",
            max_length=self.max_length,
            return_tensors="pt",
        )
        with torch.inference_mode():
            return self.model(**batch).logits[:, 0].numpy().astype(np.float32)


def held_out_rows(
    articles: Sequence[ArticleText], encoder: Any, cross_encoder: TorchCrossEncoder, top: int, limit: int, seed: int
) -> list[tuple[bool, np.ndarray, np.ndarray, np.ndarray]]:
    """Per question (up to `limit`): (answerable, holds-answer per candidate, fused score, cross-encoder logit)."""
    rng = random.Random(seed)
    chosen = [(a, q) for a in articles for q in a.questions]
    rng.shuffle(chosen)
    rows = []
    scorers: dict[str, ArticleScorer] = {}
    for article, (question, _paragraph, answers) in chosen[:limit]:
        scorer = scorers.setdefault(article.title, ArticleScorer(article, encoder))
        lexical, dense = scorer.scores(question, encoder.encode([question])[0])
        fused = zscore(lexical) + (zscore(dense) if dense is not None else 0)
        best = np.argsort(-fused)[:top]
        sentences = [article.sentences[int(i)] for i in best]
        hits = np.array([bool(answers) and holds(s, answers) for s in sentences])
        rows.append((bool(answers), hits, fused[best], cross_encoder.logits(question, sentences)))
    return rows


def summarise(rows: list[tuple[bool, np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, float]:
    answerable = [r for r in rows if r[0]]
    out: dict[str, float] = {"answerable": len(answerable), "unanswerable": len(rows) - len(answerable)}
    if answerable:
        out["fusion_top1"] = float(np.mean([r[1][0] for r in answerable]))
        out["cross_encoder_top1"] = float(np.mean([r[1][int(np.argmax(r[3]))] for r in answerable]))
        out["cross_encoder_fused_top1"] = float(np.mean([r[1][int(np.argmax(r[3] + 0.3 * r[2]))] for r in answerable]))
        out["in_top"] = float(np.mean([r[1].any() for r in answerable]))
    unanswerable = [float(r[3].max()) for r in rows if not r[0]]
    if answerable and unanswerable:
        scores = np.array([float(r[3].max()) for r in answerable])
        for rate in (0.9, 0.8):
            threshold = float(np.quantile(scores, 1 - rate))
            out[f"declined_at_{int(rate * 100)}"] = float(np.mean(np.array(unanswerable) < threshold))
    return {k: round(v, 3) for k, v in out.items()}


def evaluate_cross_encoder(cross_encoder: CrossEncoderFile, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    from .data import DiskCachedEncoder, read_squad

    encoder = DiskCachedEncoder(load_encoder(args.model), args.cache)
    torch_cross_encoder = TorchCrossEncoder(cross_encoder, args.model)
    _, _, held_v1 = load_articles(args)
    report: dict[str, dict[str, float]] = {}
    report["squad_v1_held_out"] = summarise(
        held_out_rows(held_v1, encoder, torch_cross_encoder, args.top, args.eval_questions, args.seed)
    )
    if args.squad2:
        dev = [article_text(a) for a in read_squad(args.squad2) if a["title"] in DEV_ARTICLES_V2]
        report["squad2_dev"] = summarise(
            held_out_rows(dev, encoder, torch_cross_encoder, args.top, 2 * args.eval_questions, args.seed)
        )
    encoder.save()
    for name, figures in report.items():
        print(f"{name}: {figures}", file=sys.stderr)
    return report


def main(argv: list[str] | None = None) -> int:
    p = parser()
    p.prog = "python -m training.cross_encoder_eval"
    p.add_argument("--cross-encoder", type=Path, required=True, help="the cross-encoder .npz to measure")
    args = p.parse_args(argv)
    evaluate_cross_encoder(CrossEncoderFile.read(args.cross_encoder), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
