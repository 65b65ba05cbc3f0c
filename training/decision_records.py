"""The questions the decision is fitted on, each asked of a story and read by the cross-encoder: `Sample`s.

A sample is one question asked of one story (training.cross_encoder_fit.Record: candidates, the ranker's call, the
cross-encoder's logits for the ranker's best sentences, which candidate sentences hold a gold answer) with its kind and
the set it came from, so every set can weigh the same in the fit:

- real queries (QED's Google queries, news-quiz questions), the folds the cross-encoder did not train on: each on
  the one-paragraph story that answers it (answerable) and on the nearest paragraph that holds none of its answers
  (unanswered: on the subject, not the answer);
- the reader-style training set (`training/readers/`): answerable, near-topic (unanswered) and off-topic questions
  on their stories, as written;
- off topic at scale: one source's questions asked of another source's stories;
- SQuAD: the ranker fit's own articles whole and in news-sized cuts (answerable, the answer's paragraphs removed,
  off topic) and SQuAD 2.0's Packet_switching and Scottish_Parliament, whose trick questions look answerable.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from index.cross_encoder_onnx import OnnxCrossEncoder
from index.library import Library
from index.models import Story
from index.ranking import Weights

from .cross_encoder_fit import Record, _records
from .data import DiskCachedEncoder
from .real_pairs import LabelledQuestion
from .real_queries import RealQuery, near_topic


@dataclass
class Sample:
    record: Record
    source: str  # which set it came from: each weighs the same in the fit

    @property
    def kind(self) -> str:
        return self.record.kind


def _ask(
    story: Story,
    asked: list[tuple[str, list[str], int | tuple[int, ...], str]],
    encoder: DiskCachedEncoder,
    cross_encoder: OnnxCrossEncoder,
    weights: Weights,
) -> list[Record]:
    library = Library.from_stories([story], encoder, weights, cross_encoder)
    return _records(library, asked, weights)


def query_samples(
    queries: Sequence[RealQuery],
    source: str,
    encoder: DiskCachedEncoder,
    cross_encoder: OnnxCrossEncoder,
    weights: Weights,
) -> list[Sample]:
    """Each answerable query on its own paragraph and on its nearest unanswering neighbour (see the docstring)."""
    queries = [q for q in queries if q.answerable]
    near = near_topic(queries, encoder)
    asked: dict[int, list[tuple[str, list[str], int | tuple[int, ...], str]]] = defaultdict(list)
    for i, n in enumerate(near):
        asked[i].append((queries[i].question, list(queries[i].answers), 1, "answerable"))
        if n is not None:
            asked[n].append((queries[i].question, [], 0, "unanswered"))
    out: list[Sample] = []
    for story_index, items in asked.items():
        out += [Sample(r, source) for r in _ask(queries[story_index].story(), items, encoder, cross_encoder, weights)]
    encoder.save()
    return out


def off_topic_samples(
    askers: Sequence[RealQuery],
    stories: Sequence[RealQuery],
    count: int,
    source: str,
    encoder: DiskCachedEncoder,
    cross_encoder: OnnxCrossEncoder,
    weights: Weights,
    seed: int = 7,
) -> list[Sample]:
    """`count` of one source's questions, each asked of a random story of another source."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for q in rng.sample(list(askers), min(count, len(askers))):
        story = rng.choice(list(stories)).story()
        out += [
            Sample(r, source) for r in _ask(story, [(q.question, [], 0, "off_topic")], encoder, cross_encoder, weights)
        ]
    return out


def reader_set_samples(
    questions: Sequence[LabelledQuestion],
    stories: dict[str, Story],
    encoder: DiskCachedEncoder,
    cross_encoder: OnnxCrossEncoder,
    weights: Weights,
) -> list[Sample]:
    """The reader-style training set: each story asked its own questions (kinds as labelled)."""
    kinds = {"answerable": "answerable", "near_topic": "unanswered", "off_topic": "off_topic"}
    out: list[Sample] = []
    for slug, story in stories.items():
        asked = [(q.question, list(q.answers), q.paragraphs or 0, kinds[q.kind]) for q in questions if q.story == slug]
        out += [Sample(r, "reader set") for r in _ask(story, asked, encoder, cross_encoder, weights)]
    return out
