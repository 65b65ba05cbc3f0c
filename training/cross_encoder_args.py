"""The cross-encoder's training options and the SQuAD articles they choose, shared by training.cross_encoder (which trains) and
training.cross_encoder_eval (which measures a cross-encoder file on the same held-out articles)."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from index.cross_encoder import SHIPPED
from index.embedder import DEFAULT_MODEL

from .cross_encoder_data import NEVER_TRAIN_V2, ArticleText, article_text
from .fit import DEV_ARTICLE

FIT_AND_ADAPTER_ARTICLES = 105  # the ranker's fit uses the first 60 shuffled v1 articles, the adapter the next 45


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m training.cross_encoder",
        description="Train the cross-encoder (question and sentence read together); write its .npz file.",
    )
    p.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 train JSON (.json or .json.gz)")
    p.add_argument("--squad2", type=Path, help="SQuAD 2.0 dev articles JSON (../shared/eval/...other-articles)")
    p.add_argument("--out", type=Path, default=SHIPPED)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--questions", type=int, default=3000, help="SQuAD v1 questions (default 3000)")
    p.add_argument("--per-article", type=int, default=30, help="at most this many questions per v1 article")
    p.add_argument(
        "--skip",
        type=int,
        default=FIT_AND_ADAPTER_ARTICLES,
        help="leading shuffled v1 articles left to the fit and the adapter",
    )
    p.add_argument("--held-out", type=int, default=6, help="v1 articles after the training ones, for --eval")
    p.add_argument(
        "--rank",
        type=int,
        default=16,
        help="LoRA rank; 0 fine-tunes every weight but the word embeddings (then: training.cross_encoder_ship)",
    )
    p.add_argument("--alpha", type=float, default=32.0)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--freeze-layers", type=int, default=0, help="keep the embeddings and this many lower layers")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: the epochs)")
    p.add_argument("--init", type=Path, help="continue from this cross-encoder file (same rank and alpha)")
    p.add_argument(
        "--skip-pairs", type=int, default=0, help="leave out the first N shuffled pairs (seen by --init's run)"
    )
    p.add_argument("--max-pairs", type=int, default=0, help="train on the first N shuffled pairs only (0: all)")
    p.add_argument("--minutes", type=float, default=40.0, help="stop training after this long (0: no limit)")
    p.add_argument("--no-dense", dest="dense", action="store_false", help="skip the embedder's negatives")
    p.add_argument("--eval", action="store_true", help="measure on held-out articles after training")
    p.add_argument("--top", type=int, default=10, help="fused candidates the cross-encoder reads in --eval")
    p.add_argument("--eval-questions", type=int, default=400, help="questions per held-out set for --eval")
    p.add_argument(
        "--chat-share",
        type=float,
        default=0.15,
        help="share of questions rewritten as chat (lower case, no '?', 'u', 'ppl'...): readers type like that",
    )
    p.add_argument("--v2-per-article", type=int, default=0, help="at most this many SQuAD 2.0 questions an article")
    p.add_argument("--qed", type=Path, help="QED's Google queries (../shared/eval/qed-train.jsonl.gz); dev part unread")
    p.add_argument("--qed-questions", type=int, default=0, help="at most this many QED training queries (0: all)")
    p.add_argument("--quiz", type=Path, help="news-quiz questions (../shared/eval/news-quiz-other-years.jsonl.gz)")
    p.add_argument("--quiz-questions", type=int, default=0, help="at most this many quiz questions (0: all)")
    p.add_argument(
        "--reader-set", type=int, default=0, help="times the reader-style training set's pairs are used (0: not)"
    )
    p.add_argument(
        "--variant-share", type=float, default=0.0, help="share of questions also trained as a trivial variant"
    )
    p.add_argument("--cache", type=Path, default=Path("data/cache"), help="embedding cache folder")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    return p


def load_articles(args: argparse.Namespace) -> tuple[list[ArticleText], list[ArticleText], list[ArticleText]]:
    """(v1 training articles, v2 training articles, v1 held-out articles)."""
    from .data import read_squad

    v1 = read_squad(args.squad, exclude=[DEV_ARTICLE])
    random.Random(7).shuffle(v1)  # the fit's and the adapter's order: their articles come first
    pool = v1[args.skip :]
    wanted = -(-args.questions // args.per_article)
    train_v1 = [article_text(a) for a in pool[:wanted]]
    held_v1 = [article_text(a) for a in pool[wanted : wanted + args.held_out]]
    v2 = read_squad(args.squad2, exclude=NEVER_TRAIN_V2) if args.squad2 else []
    return train_v1, [article_text(a) for a in v2], held_v1
