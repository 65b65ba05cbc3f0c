"""Does the report's question grouping put questions about the same thing together? A proxy measure.

    python -m benchmarks.grouping --story ../shared/eval/university-of-notre-dame.txt \\
        --questions ../shared/eval/university-of-notre-dame.questions.jsonl

No labelled set of "the same question in other words" ships here, so questions answered by the same paragraph of a
SQuAD article stand in for "asking about the same thing". For each threshold, and with the question vectors left as
they are, centred on the story's mean paragraph vector (what the report does) or on the questions' own mean (the
report's fallback without an index), it prints the number of groups and pairwise precision and recall: of the pairs
put in one group, how many share a paragraph, and of the pairs that share a paragraph, how many were grouped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bot.editorial.report import CLUSTER_DISTANCE, Group, LoggedQuestion, cluster, topic_vectors
from index import Library, load_encoder, parse_story


def pairwise(groups: list[Group], paragraph: dict[str, int]) -> tuple[int, float, float]:
    labels = np.array([(i, paragraph[p]) for i, g in enumerate(groups) for p, _ in g.phrasings])
    upper = np.triu_indices(len(labels), 1)
    grouped = (labels[:, 0][:, None] == labels[:, 0][None, :])[upper]
    same = (labels[:, 1][:, None] == labels[:, 1][None, :])[upper]
    hits = int((grouped & same).sum())
    return len(groups), hits / max(int(grouped.sum()), 1), hits / max(int(same.sum()), 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--story", type=Path, required=True, help="the story file the questions are about")
    p.add_argument("--questions", type=Path, required=True, help='JSONL with "question" and "paragraph" (1-based)')
    p.add_argument("--model", default="all-MiniLM-L6-v2")
    p.add_argument("--thresholds", default="0.3,0.4,0.5,0.6")
    args = p.parse_args()
    encoder = load_encoder(args.model)
    library = Library.from_stories([parse_story(args.story)], encoder)
    slug = library.data.stories[0].slug
    items = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    paragraph = {item["question"]: int(item["paragraph"]) for item in items}
    rows = [LoggedQuestion(q, slug, False) for q in paragraph]
    story_mean = topic_vectors(library)
    none = {k: np.zeros_like(v) for k, v in story_mean.items()}
    print(f"{len(rows)} questions, {len(set(paragraph.values()))} paragraphs; the report uses {CLUSTER_DISTANCE}")
    print("threshold  centring        groups  precision  recall")
    for t in (float(x) for x in args.thresholds.split(",")):
        for name, topics in (("none", none), ("story mean", story_mean), ("question mean", None)):
            groups, precision, recall = pairwise(cluster(rows, encoder, topics, threshold=t), paragraph)
            print(f"{t:<10} {name:<15} {groups:>6}  {precision:>9.3f}  {recall:>6.3f}")


if __name__ == "__main__":
    main()
