"""How good are the summaries? ROUGE against reference summaries, beside Lead-3 and pure centrality.

    python -m benchmarks.summary --data FILE.jsonl [--model all-MiniLM-L6-v2] [--sentences 3] [--set position=0.5]

FILE.jsonl holds one article a line: {"id": ..., "article_sentences": [...], "reference": "..."}
(e.g. CNN/DailyMail articles with their highlights joined as the reference). Each article becomes a story
with one sentence per paragraph and goes through `Library.summary`, exactly as the bot would summarise
it. In the same run, on the same sentence embeddings:
- Lead-3: the article's first sentences;
- pure centrality: cosine to the article's centroid, picked with MMR, no position at all.
Prints ROUGE-1/2/L F1 (rouge-score, Porter stemming), averaged over articles, times 100, and how often the
project's summary is exactly Lead-3. `--set NAME=VALUE` overrides a `SummaryWeights` field (for trying weights on
a development file; the shipped defaults are what the bot uses).
No news data ships with the project; tests/data/summary-articles.jsonl is a small made-up file for checks.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from index import Library
from index.embedder import DEFAULT_MODEL, CachedEncoder, Encoder, load_encoder
from index.models import Paragraph, Story
from index.stories import split_sentences
from index.summarise import DEFAULT_WEIGHTS, SummaryWeights, mmr_select

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
BASELINE_REDUNDANCY = 0.5  # the MMR weight of the centroid baseline as first shipped


@dataclass(frozen=True)
class Article:
    id: str
    sentences: list[str]
    reference: str


class DataError(ValueError):
    """A line of the data file is not an article of the expected shape; the message names the line."""


def load_articles(path: Path) -> list[Article]:
    articles: list[Article] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                sentences = [str(s) for s in row["article_sentences"] if str(s).strip()]
                article = Article(id=str(row["id"]), sentences=sentences, reference=str(row["reference"]))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(f"{path}:{number}: expected {{id, article_sentences, reference}} ({exc})") from exc
            if not article.sentences or not article.reference.strip():
                raise DataError(f"{path}:{number}: article {article.id!r} has no sentences or no reference")
            articles.append(article)
    return articles


def as_story(article: Article, number: int) -> Story:
    """The article as the bot would hold it: one paragraph per sentence, split again by the project's splitter."""
    paragraphs = tuple(
        Paragraph(number=i, text=text, sentences=split_sentences(text), line=i)
        for i, text in enumerate(article.sentences, start=1)
    )
    return Story(
        slug=f"article-{number}",
        title=article.id,
        paragraphs=paragraphs,
        file=f"{article.id}.jsonl",
        content_hash=str(number),
    )


def lead(article: Article, count: int) -> list[str]:
    return article.sentences[:count]


def centroid_mmr(vectors: np.ndarray, count: int) -> list[int]:
    """Pure centrality: cosine to the centroid, MMR against repeats, nothing about position."""
    centroid = vectors.mean(axis=0)
    centrality = vectors @ (centroid / (float(np.linalg.norm(centroid)) or 1.0))
    return mmr_select(centrality, vectors, count, redundancy=BASELINE_REDUNDANCY, floor=-1.0)


def rouge(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """Mean F1 (x100) of each ROUGE type over (summary, reference) pairs, with stemming."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for summary, reference in pairs:
        scores = scorer.score(reference, summary)
        for kind in ROUGE_TYPES:
            totals[kind] += scores[kind].fmeasure
    return {kind: 100 * total / max(len(pairs), 1) for kind, total in totals.items()}


@dataclass(frozen=True)
class Results:
    rouge: dict[str, dict[str, float]]  # summary name -> ROUGE type -> mean F1 x 100
    articles: int
    same_as_lead: int  # articles whose project summary is exactly the lead sentences


def evaluate(
    articles: list[Article], encoder: Encoder, count: int = 3, weights: SummaryWeights = DEFAULT_WEIGHTS
) -> Results:
    """ROUGE of the project's summary, Lead-3 and pure centrality on the same articles."""
    cached = CachedEncoder(encoder, size=sum(len(a.sentences) for a in articles) * 2 + 16)
    library = Library.from_stories([as_story(a, i) for i, a in enumerate(articles)], cached)
    library.summary_weights = weights
    project, leads, central = [], [], []
    same_as_lead = 0
    for i, article in enumerate(articles):
        summary = library.summary(f"article-{i}", sentences=count)
        project.append((" ".join(q.text for q in summary.quotes), article.reference))
        same_as_lead += project[-1][0] == " ".join(lead(article, count))
        leads.append((" ".join(lead(article, count)), article.reference))
        vectors = cached.encode(article.sentences)
        picks = sorted(centroid_mmr(vectors, count))
        central.append((" ".join(article.sentences[p] for p in picks), article.reference))
    scores = {
        f"project ({count} sentences)": rouge(project),
        f"Lead-{count}": rouge(leads),
        "centroid + MMR, no position": rouge(central),
    }
    return Results(rouge=scores, articles=len(articles), same_as_lead=same_as_lead)


def format_table(results: Results) -> str:
    lines = [
        f"{results.articles} articles",
        "| summary | ROUGE-1 | ROUGE-2 | ROUGE-L |",
        "|---|---|---|---|",
    ]
    for name, scores in results.rouge.items():
        lines.append(f"| {name} | " + " | ".join(f"{scores[k]:.1f}" for k in ROUGE_TYPES) + " |")
    lines.append(f"project summary identical to the lead sentences: {results.same_as_lead} of {results.articles}")
    return "\n".join(lines)


def parse_weights(settings: list[str]) -> SummaryWeights:
    """SummaryWeights with NAME=VALUE overrides; unknown names and bad values raise ValueError."""
    kinds = {f.name: type(getattr(DEFAULT_WEIGHTS, f.name)) for f in fields(SummaryWeights)}
    overrides: dict[str, Any] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in kinds:
            raise ValueError(f"--set {setting!r}: no weight {name!r} (known: {', '.join(kinds)})")
        overrides[name] = kinds[name](value)
    return replace(DEFAULT_WEIGHTS, **overrides)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summary", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="JSONL: {id, article_sentences, reference} a line")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"embedding model (default {DEFAULT_MODEL})")
    parser.add_argument(
        "--adapter", default="auto", help="LoRA adapter for the model: auto (the shipped one), none, or a .npz"
    )
    parser.add_argument("--sentences", type=int, default=3, help="summary length in sentences (default 3)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a summary weight")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    try:
        weights = parse_weights(args.set)
        articles = load_articles(args.data)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not articles:
        print(f"error: {args.data} holds no articles", file=sys.stderr)
        return 2
    results = evaluate(articles, load_encoder(args.model, args.adapter), args.sentences, weights)
    if args.json:
        print(json.dumps({**asdict(results), "weights": asdict(weights)}, indent=2))
    else:
        print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
