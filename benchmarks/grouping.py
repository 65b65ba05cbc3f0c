"""Does the editors' report group questions that ask the same thing, and only those? Held-out SQuAD articles.

    python -m benchmarks.grouping --squad ../shared/eval/squad-train-v1.1.json.gz [--held-out 10] \\
        [--dev ../shared/eval/squad-train-university-of-notre-dame.json]

Labels as in `training.grouping`: two questions ask the same thing when their gold answers overlap in one
paragraph. The held-out articles are the ones after the fit's in the fit's order, so nothing here was fitted on
(`--dev` adds the dev article as a row of its own). Each article becomes a story and the engine answers every
question, as the bot would; the report's grouping then runs over all of them ("Most asked"). The engine answers
nearly every SQuAD question, so the cut for declined questions is measured on its own too ("meaning": every
question grouped by meaning alone, as if all were declined). Per view: groups, pairwise precision and recall (of
the pairs put in one group, how many ask the same thing; of those that do, how many were grouped), and the
groups that mix answered and declined phrasings. Three ways of grouping:

- before: every question clustered by meaning together, story-centred, cut at 0.4 (the report until the fit);
- passage: answered questions grouped by the quoted passage alone, declined ones by the fitted cut;
- after: what the report does now (answered by passage, then by meaning within it; declined by the fitted cut).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bot.editorial.grouping import CUT, Group, GroupingCut, LoggedQuestion, group_questions, normalise, passage_key
from bot.editorial.report import topic_vectors
from index import Encoder, Library, load_encoder
from training.data import DiskCachedEncoder
from training.grouping import Labelled, counts, labelled, precision_recall, split

BEFORE = GroupingCut(
    distance=0.4, centring="story", model="", seed=0, skip=0, articles=0, pairs={}, precision=0, recall=0
)
Grouper = Callable[[list[LoggedQuestion], Encoder, dict[str, np.ndarray]], list[Group]]


def before(rows: list[LoggedQuestion], encoder: Encoder, topics: dict[str, np.ndarray]) -> list[Group]:
    return group_questions([r._replace(answered=False) for r in rows], encoder, topics, BEFORE)


def passage_only(rows: list[LoggedQuestion], encoder: Encoder, topics: dict[str, np.ndarray]) -> list[Group]:
    by_passage: dict[str, Group] = {}
    for r in rows:
        if r.answered:
            by_passage.setdefault(r.passage, Group([], [], passage=r.passage)).phrasings.append((r.question, 1))
    return [*by_passage.values(), *group_questions([r for r in rows if not r.answered], encoder, topics)]


def after(rows: list[LoggedQuestion], encoder: Encoder, topics: dict[str, np.ndarray]) -> list[Group]:
    return group_questions(rows, encoder, topics)


GROUPERS: dict[str, Grouper] = {"before": before, "passage": passage_only, "after": after}


def score(groups: list[Group], rows: list[LoggedQuestion], positive: np.ndarray) -> np.ndarray:
    """(groups, pairs grouped, grouped and positive, positive, mixed groups) over `rows` (positive: their pairs)."""
    label = {normalise(p): n for n, g in enumerate(groups) for p, _ in g.phrasings}
    labels = np.array([label[normalise(r.question)] for r in rows])
    statuses: dict[int, set[bool]] = {}
    for r, n in zip(rows, labels):
        statuses.setdefault(int(n), set()).add(r.answered)
    mixed = sum(1 for s in statuses.values() if len(s) == 2)
    return np.array([len(statuses), *counts(labels, positive), mixed], dtype=np.int64)


def answered_rows(article: Labelled, library: Library) -> list[LoggedQuestion]:
    slug = article.story.slug
    rows = []
    for i, answer in enumerate(library.ask_many(article.questions)):
        q = answer.quotes[0] if answer.answered and answer.quotes else None
        passage = passage_key(q.story, q.paragraph, q.paragraph_hash) if q else ""
        rows.append(LoggedQuestion(article.questions[i], slug, q is not None, f"reader {i}", passage))
    return rows


def measure(articles: list[Labelled], encoder: Encoder) -> dict[str, np.ndarray]:
    """Summed scores per "view/grouping", e.g. "all/after", "declined/before"."""
    totals: dict[str, np.ndarray] = {}
    for n, article in enumerate(articles, 1):
        print(f"  {n}/{len(articles)} {article.title}", file=sys.stderr, flush=True)
        library = Library.from_stories([article.story], encoder)
        rows, topics = answered_rows(article, library), topic_vectors(library)
        positive, _ = article.pairs()
        unanswered = [r._replace(answered=False, passage="") for r in rows]
        for name, grouper in GROUPERS.items():
            totals[f"all/{name}"] = totals.get(f"all/{name}", 0) + score(grouper(rows, encoder, topics), rows, positive)
            if name != "passage":
                found = score(grouper(unanswered, encoder, topics), unanswered, positive)
                totals[f"meaning/{name}"] = totals.get(f"meaning/{name}", 0) + found
        answered = sum(r.answered for r in rows)
        totals["answered"] = totals.get("answered", 0) + np.array([answered, len(rows), int(positive.sum())])
    return totals


def table(title: str, totals: dict[str, np.ndarray]) -> list[str]:
    answered, asked, positive = (int(x) for x in totals["answered"])
    lines = [
        f"{title}: {asked} questions, {answered} answered by the engine; {positive} pairs ask the same thing",
        "view      grouping  groups  precision  recall  mixed groups",
    ]
    for key, row in totals.items():
        if "/" in key:
            view, name = key.split("/")
            precision, recall = precision_recall(row[1:4])
            lines.append(f"{view:<9} {name:<9} {row[0]:>6}  {precision:>9.3f}  {recall:>6.3f}  {row[4]:>12}")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--squad", type=Path, required=True, help="SQuAD v1.1 train JSON (.json or .json.gz)")
    p.add_argument("--held-out", type=int, default=10, help="held-out articles to measure on (default 10)")
    p.add_argument("--dev", type=Path, help="also measure on this SQuAD-format file (the dev article)")
    p.add_argument("--cache", type=Path, default=Path("data/cache"), help="embedding cache folder")
    args = p.parse_args()
    started = time.perf_counter()
    fit = CUT
    _, held_out = split(args.squad, fit.seed, fit.skip, fit.articles, args.held_out)
    encoder = DiskCachedEncoder(load_encoder(fit.model), args.cache)
    print(f"the report's cut: {fit.distance} ({fit.centring} centring), fitted on {fit.articles} articles")
    out = table(f"{len(held_out)} held-out SQuAD articles", measure(held_out, encoder))
    if args.dev:
        dev = [labelled(a) for a in json.loads(args.dev.read_text(encoding="utf-8"))["data"]]
        out += ["", *table(f"dev article ({args.dev.name})", measure(dev, encoder))]
    encoder.save()
    print("\n".join(out))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
