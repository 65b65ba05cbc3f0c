"""Grouping readers' questions for the editors' report: answered ones by what answered them, declined ones by meaning.

One group must mean one question, or "Most asked" tells an editor something false: "How many White Helmets are
still trapped?" (answered) must not swallow "How many died?" (declined). So:

- An answered question joins the others answered by the same passage (its first quote's paragraph, by the
  paragraph's hash so an edit elsewhere in the story does not split it), and within one passage it is grouped by
  meaning too, since one paragraph can answer both "how many are trapped?" and "who runs the rescue?".
- A declined question has no passage: it is grouped by meaning alone.
- A phrasing asked several times with mixed outcomes (the story changed in between, or a borderline question)
  stays one group with its answered share: the only way answered and declined questions share a group.

Meaning: the question embedded with the index's encoder, the story's mean paragraph vector taken out (otherwise
the story's subject, "White Helmets", outweighs what is asked about it), then average-linkage clustering on cosine
distance, cut at the distance that `python -m training.grouping` fitted on SQuAD paraphrase pairs (grouping.json).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
from pydantic import BaseModel
from scipy.cluster.hierarchy import fcluster, linkage

from index import Encoder

CUT_FILE = Path(__file__).with_name("grouping.json")
MAX_DISTINCT = 2000  # linkage is O(n²) in memory: group at most this many distinct phrasings
_NON_WORD = re.compile(r"[^\w]+")


class GroupingCut(BaseModel):
    """What `training.grouping` fitted, and on what (so a refit can be compared)."""

    distance: float  # cosine distance at which the average-linkage tree is cut
    centring: Literal["story", "none"]  # take the story's mean paragraph vector out before clustering, or not
    model: str
    seed: int
    skip: int  # SQuAD articles (in the seed's order) left to other fits before the ones fitted on
    articles: int
    pairs: dict[str, int]  # labelled pairs the cut was chosen on: positive, near_negative, far_negative
    precision: float  # pairwise, on the fit articles
    recall: float


def load_cut(path: Path = CUT_FILE) -> GroupingCut:
    return GroupingCut.model_validate(json.loads(path.read_text(encoding="utf-8")))


CUT = load_cut()


@dataclass
class Group:
    """Questions that ask the same thing in different words."""

    phrasings: list[tuple[str, int]]  # (question as first asked, times), most asked first
    stories: list[str]
    answered: int = 0
    readers: set[str] = field(default_factory=set)
    passage: str | None = None  # what answered the group's questions ("story#paragraph-hash"), None if declined

    @property
    def count(self) -> int:
        return sum(n for _, n in self.phrasings)

    @property
    def label(self) -> str:
        return self.phrasings[0][0]


class LoggedQuestion(NamedTuple):
    """One logged question as the report groups it."""

    question: str
    story: str
    answered: bool
    reader: str = ""  # the hashed user id: counts distinct readers, so one reader repeating is not a trend
    passage: str = ""  # the first quote's "story#paragraph-hash" (or "story#paragraph-number") when answered


def normalise(question: str) -> str:
    return _NON_WORD.sub(" ", question.casefold()).strip()


def passage_key(story: str, paragraph: int, paragraph_hash: str | None) -> str:
    return f"{story}#{paragraph_hash or paragraph}"


def centred(vectors: np.ndarray, topics: np.ndarray | None) -> np.ndarray:
    """Unit vectors with each row's topic taken out; without topics, what all rows share (from 10 rows on)."""
    vectors = vectors.astype(np.float64)
    if topics is not None:
        vectors = vectors - topics
    elif len(vectors) >= 10:
        vectors = vectors - vectors.mean(axis=0)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def by_meaning(vectors: np.ndarray, distance: float) -> np.ndarray:
    """Cluster labels (from 1) for unit vectors: average linkage on cosine distance, cut at `distance`."""
    if len(vectors) < 2:
        return np.ones(len(vectors), dtype=int)
    return fcluster(linkage(vectors, method="average", metric="cosine"), t=distance, criterion="distance")


def group_questions(
    questions: list[LoggedQuestion],
    encoder: Encoder,
    topics: dict[str, np.ndarray] | None = None,
    cut: GroupingCut = CUT,
    cache: dict[str, np.ndarray] | None = None,
) -> list[Group]:
    """Group questions (see the module's docstring); biggest group first. `cache` keeps vectors between calls."""
    distinct: dict[str, list[LoggedQuestion]] = {}
    for row in questions:
        distinct.setdefault(normalise(row.question), []).append(row)
    keys = sorted(distinct, key=lambda k: -len(distinct[k]))[:MAX_DISTINCT]
    if not keys:
        return []
    cache = {} if cache is None else cache
    missing = [k for k in keys if k not in cache]
    if missing:
        cache.update(zip(missing, encoder.encode([distinct[k][0].question for k in missing]).astype(np.float64)))
    vectors = np.stack([cache[k] for k in keys])
    if cut.centring == "none":
        vectors = centred(vectors, np.zeros_like(vectors))
    else:
        vectors = centred(vectors, np.stack([topics.get(distinct[k][0].story, topics[""]) for k in keys]) if topics else None)  # fmt: skip
    passages: dict[str | None, list[int]] = {}  # passage (None: declined) -> positions in keys
    for i, key in enumerate(keys):
        answered = Counter(row.passage for row in distinct[key] if row.answered)
        passages.setdefault(answered.most_common(1)[0][0] if answered else None, []).append(i)
    groups: dict[tuple[str | None, int], Group] = {}
    for passage, where in passages.items():
        for i, label in zip(where, by_meaning(vectors[where], cut.distance)):
            _add(groups.setdefault((passage, int(label)), Group([], [], passage=passage)), keys[i], distinct[keys[i]])
    for group in groups.values():
        group.phrasings.sort(key=lambda p: -p[1])
    return sorted(groups.values(), key=lambda g: (-g.count, g.label))


def _add(group: Group, key: str, rows: list[LoggedQuestion]) -> None:
    group.phrasings.append((rows[0].question, len(rows)))
    group.answered += sum(1 for row in rows if row.answered)
    group.readers.update(row.reader for row in rows)
    for row in rows:
        if row.story and row.story not in group.stories:
            group.stories.append(row.story)
