"""Fit the cut that groups readers' questions by meaning in the editors' report: writes bot/editorial/grouping.json.

    python -m training.grouping --squad ../shared/eval/squad-train-v1.1.json.gz [--articles 40] [--seed 7]

Labelled pairs from SQuAD, whose crowd wrote several questions per answer: within one article, two questions whose
gold answers overlap in one paragraph ask the same thing (positives); two questions about one paragraph with
different answers are near negatives, questions about different paragraphs far ones. Each article's questions
are clustered as the report clusters them (unit vectors with the story's mean paragraph vector taken out, average
linkage on cosine distance), and for each cut the pairwise precision and recall are counted over all articles.
`--centring none` fits on the raw vectors instead (measured: the same best F1 within 0.002, so the report keeps
the centring that stops a story's subject from outweighing the question). The cut with the best F-beta is written. Beta is 1: the report already keeps answered
and declined questions apart by construction, so among the declined a false merge (a question hidden under
another's label) and a missed paraphrase (one count split in two) cost an editor about the same. Precision-
weighted (beta 0.5) the cut drops to 0.15 and splits "Who funds the White Helmets" from "Who gives money to the
White Helmets?"; the F curve is flat from 0.15 to 0.3, see benchmarks.grouping for held-out figures.

Articles: SQuAD's training split without the dev article, shuffled with `--seed` (the ranker's and the
adapter's order); the first `--skip` are left to those fits, the next `--articles` are fitted on, and the
`--held-out` after them are what `benchmarks.grouping` measures on. Embeddings are cached under --cache.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from bot.editorial.grouping import CUT_FILE, GroupingCut, centred
from index import Encoder, load_encoder
from index.models import Story

from .data import DiskCachedEncoder, read_squad, squad_article
from .fit import DEV_ARTICLE

DISTANCES = np.round(np.arange(0.05, 0.951, 0.025), 3)


@dataclass
class Labelled:
    """One SQuAD article's questions with what says which pairs ask the same thing."""

    title: str
    story: Story
    questions: list[str]
    paragraph: np.ndarray  # 1-based, per question
    start: np.ndarray  # gold answer span in its paragraph, per question
    end: np.ndarray

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(same answer, same paragraph) for every pair i < j, in `np.triu_indices` order."""
        i, j = np.triu_indices(len(self.questions), 1)
        same_paragraph = self.paragraph[i] == self.paragraph[j]
        overlap = (self.start[i] < self.end[j]) & (self.start[j] < self.end[i])
        return same_paragraph & overlap, same_paragraph


def labelled(raw: dict[str, Any]) -> Labelled:
    article = squad_article(raw)
    spans = [
        (number, qa["answers"][0]["answer_start"], qa["answers"][0]["answer_start"] + len(qa["answers"][0]["text"]))
        for number, p in enumerate(raw["paragraphs"], 1)
        for qa in p["qas"]
    ]
    paragraph, start, end = (np.array(column) for column in zip(*spans))
    return Labelled(raw["title"], article.story, [q.question for q in article.questions], paragraph, start, end)


def split(squad: Path, seed: int, skip: int, fit: int, held_out: int) -> tuple[list[Labelled], list[Labelled]]:
    """The fit's articles and the held-out ones (never the dev article, never the ranker's or adapter's)."""
    raw = read_squad(squad, exclude=[DEV_ARTICLE])
    random.Random(seed).shuffle(raw)
    chosen = raw[skip : skip + fit + held_out]
    return [labelled(a) for a in chosen[:fit]], [labelled(a) for a in chosen[fit:]]


def story_topic(article: Labelled, encoder: Encoder) -> np.ndarray:
    """The story's mean paragraph vector: the paragraphs' texts embedded as an index embeds them (`topic_vectors`
    reads the same vectors from a built index; building one here would also embed every sentence, 5x the work)."""
    return encoder.encode([p.text for p in article.story.paragraphs]).astype(np.float64).mean(axis=0)


def counts(labels: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """(pairs grouped, grouped pairs that are positive, positive pairs) for cluster labels."""
    i, j = np.triu_indices(len(labels), 1)
    grouped = labels[i] == labels[j]
    return np.array([grouped.sum(), (grouped & positive).sum(), positive.sum()], dtype=np.int64)


def precision_recall(total: np.ndarray) -> tuple[float, float]:
    grouped, hits, positives = (int(x) for x in total)
    return hits / max(grouped, 1), hits / max(positives, 1)


def f_beta(precision: float, recall: float, beta: float) -> float:
    b2 = beta * beta
    return (1 + b2) * precision * recall / max(b2 * precision + recall, 1e-12)


def sweep(articles: list[Labelled], encoder: Encoder, centring: str) -> np.ndarray:
    """Summed pair counts for every cut in DISTANCES: shape (len(DISTANCES), 3)."""
    totals = np.zeros((len(DISTANCES), 3), dtype=np.int64)
    for n, article in enumerate(articles, 1):
        print(f"  {n}/{len(articles)} {article.title}", file=sys.stderr, flush=True)
        vectors = encoder.encode(article.questions)
        topic = story_topic(article, encoder)
        positive, _ = article.pairs()
        shift = np.broadcast_to(topic if centring == "story" else np.zeros_like(topic), vectors.shape)
        tree = linkage(centred(vectors, shift), method="average", metric="cosine")
        for k, distance in enumerate(DISTANCES):
            totals[k] += counts(fcluster(tree, t=distance, criterion="distance"), positive)
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.grouping", description=__doc__.split("\n\n")[0])
    parser.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 train JSON (.json or .json.gz)")
    parser.add_argument("--articles", type=int, default=40, help="articles to fit on (default 40)")
    parser.add_argument("--held-out", type=int, default=20, help="articles left for benchmarks.grouping")
    parser.add_argument("--skip", type=int, default=120, help="leading articles left to the ranker and adapter")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--beta", type=float, default=1.0, help="F-beta the cut maximises (below 1: precision)")
    parser.add_argument("--centring", choices=("story", "none"), default="story", help="as the report: story")
    parser.add_argument("--cache", type=Path, default=Path("data/cache"), help="embedding cache folder")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--out", type=Path, default=CUT_FILE)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    fit, _ = split(args.squad, args.seed, args.skip, args.articles, args.held_out)
    encoder = DiskCachedEncoder(load_encoder(args.model), args.cache)
    print(f"embedding and clustering {len(fit)} articles (cached vectors are reused)", file=sys.stderr)
    totals = sweep(fit, encoder, args.centring)
    encoder.save()
    print("distance  precision  recall  F-beta", file=sys.stderr)
    best: tuple[float, int] = (-1.0, 0)
    for k, distance in enumerate(DISTANCES):
        precision, recall = precision_recall(totals[k])
        score = f_beta(precision, recall, args.beta)
        print(f"{distance:>8.3f} {precision:>10.3f} {recall:>7.3f} {score:>7.3f}", file=sys.stderr)
        best = max(best, (score, k))
    k, centring = best[1], args.centring
    precision, recall = precision_recall(totals[k])
    _, near = zip(*(a.pairs() for a in fit)) if fit else ((), ())
    positives = int(totals[k][2])
    same_paragraph = sum(int(x.sum()) for x in near)
    all_pairs = sum(len(a.questions) * (len(a.questions) - 1) // 2 for a in fit)
    cut = GroupingCut(
        distance=float(DISTANCES[k]),
        centring=centring,
        model=args.model,
        seed=args.seed,
        skip=args.skip,
        articles=len(fit),
        pairs={
            "positive": positives,
            "near_negative": same_paragraph - positives,
            "far_negative": all_pairs - same_paragraph,
        },
        precision=round(precision, 4),
        recall=round(recall, 4),
    )
    args.out.write_text(cut.model_dump_json(indent=2) + "\n", encoding="utf-8")
    seconds = time.perf_counter() - started
    print(
        f"wrote {args.out}: cut at cosine distance {cut.distance} ({centring} centring), pairwise precision "
        f"{precision:.3f}, recall {recall:.3f} on {len(fit)} articles; {seconds:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
