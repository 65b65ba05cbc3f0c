"""Loading benchmark data: question files (JSONL), SQuAD articles as stories, and a disk cache of embeddings.

Nothing here ships data: every path is an argument, so a fresh clone can point it at its own copy of SQuAD
(https://rajpurkar.github.io/SQuAD-explorer/, CC BY-SA 4.0) or of `../shared/eval`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index import Encoder, EncoderWrapper, Story, parse_story

# SQuAD 2.0's held-out articles: measured on (benchmarks.squad2), never trained on. Of the file's 31 sorted titles,
# positions 0, 4, ..., 28, except that Pharmacy and Sky_(United_Kingdom) stand where the rule gives Packet_switching
# and Scottish_Parliament; no training reads any of the ten (training.cross_encoder_data.NEVER_TRAIN_V2).
SQUAD2_DEV_ARTICLES = (
    "1973_oil_crisis",
    "Computational_complexity_theory",
    "Force",
    "Huguenot",
    "Islamism",
    "Pharmacy",
    "Sky_(United_Kingdom)",
    "Victoria_(Australia)",
)


@dataclass
class Question:
    question: str
    paragraph: int | None = None  # 1-based gold paragraph; None for questions the story cannot answer
    answers: list[str] = field(default_factory=list)


def read_questions(path: Path) -> list[Question]:
    """`{"question", "paragraph"?, "answers"?}` a line; blank lines skipped."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Question(str(row["question"]), row.get("paragraph"), [str(a) for a in row.get("answers", [])]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a question line ({exc})") from exc
    return out


@dataclass
class Article:
    """One SQuAD article as an engine story plus its questions (gold paragraph numbers are 1-based)."""

    title: str
    story: Story
    questions: list[Question]


def story_from_paragraphs(slug: str, paragraphs: Sequence[str], source: str = "Wikipedia") -> Story:
    """A story in the plain-text shape, parsed by the engine's own parser (so sentences split the same way)."""
    body = "\n\n".join(" ".join(p.split()) for p in paragraphs) + f"\n\nOriginal Source(s): {source}\n"
    return parse_story(Path(f"{slug}.txt"), body.encode("utf-8"))


def read_squad(path: Path, *, exclude: Sequence[str] = ()) -> list[dict[str, Any]]:
    """SQuAD v1.1 JSON (optionally .gz) articles, minus the titles in `exclude`."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        articles = json.load(handle)["data"]
    skip = set(exclude)
    return [a for a in articles if a["title"] not in skip]


def squad_article(raw: dict[str, Any]) -> Article:
    slug = re.sub(r"[^a-z0-9]+", "-", raw["title"].lower()).strip("-")[:90] or "article"
    texts = [p["context"] for p in raw["paragraphs"]]
    story = story_from_paragraphs(slug, texts)
    questions = [
        Question(qa["question"], number, [a["text"] for a in qa["answers"]])
        for number, p in enumerate(raw["paragraphs"], 1)
        for qa in p["qas"]
    ]
    return Article(raw["title"], story, questions)


class DiskCachedEncoder(EncoderWrapper):
    """An encoder that keeps every vector it has made in one .npz, so refitting does not re-embed SQuAD."""

    def __init__(self, inner: Encoder, folder: Path) -> None:
        super().__init__(inner)
        # by fingerprint when the encoder has one: the same model name with another adapter embeds differently
        key = hashlib.sha1((inner.fingerprint or inner.name).encode()).hexdigest()[:10]
        self.path = folder / f"embeddings-{key}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as saved:
                self._vectors = dict(zip(saved["texts"].tolist(), saved["vectors"]))

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, row in zip(missing, self.inner.encode(missing, batch_size=batch_size, progress=progress)):
                self._vectors[text] = row
            self._dirty = True
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self._vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, texts=np.array(texts), vectors=np.stack([self._vectors[t] for t in texts]))
        tmp.replace(self.path)
        self._dirty = False


def news_sized_cuts(article: Article) -> Iterator[Article]:
    """The article cut into stories of 3-8 consecutive paragraphs (seeded by its title), each with the questions
    its paragraphs answer, renumbered: IDF and z-scores behave differently in a 4-paragraph story than in a
    50-paragraph article, and the shipped stories are short. Cuts of one paragraph or with no question are skipped."""
    rng = random.Random(f"chunks|{article.title}")
    paragraphs = [p.text for p in article.story.paragraphs]
    start = 0
    while start < len(paragraphs):
        end = min(len(paragraphs), start + rng.randint(3, 8))
        story = story_from_paragraphs(f"{article.story.slug[:80]}-{start + 1}", paragraphs[start:end])
        questions = [
            Question(q.question, q.paragraph - start, q.answers)
            for q in article.questions
            if q.paragraph is not None and start < q.paragraph <= end
        ]
        if questions and end - start >= 2:
            yield Article(article.title, story, questions)
        start = end


@dataclass(frozen=True)
class Squad2Question:
    question: str
    answers: tuple[str, ...]  # empty: unanswerable


@dataclass(frozen=True)
class Squad2Article:
    title: str
    story: Story
    questions: list[Squad2Question]


def read_held_out(path: Path, titles: Sequence[str] = SQUAD2_DEV_ARTICLES) -> list[Squad2Article]:
    """The `titles` articles of a SQuAD 2.0 file (JSON, optionally .gz) as engine stories with their questions."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        raw = {a["title"]: a for a in json.load(handle)["data"]}
    missing = [t for t in titles if t not in raw]
    if missing:
        raise ValueError(f"{path}: no article {', '.join(missing)}; is it SQuAD 2.0's dev split?")
    return [_article(raw[title]) for title in titles]


def _article(raw: dict[str, Any]) -> Squad2Article:
    slug = re.sub(r"[^a-z0-9]+", "-", raw["title"].lower()).strip("-")[:90]
    story = story_from_paragraphs(slug, [p["context"] for p in raw["paragraphs"]])
    questions = [
        Squad2Question(qa["question"], () if qa.get("is_impossible") else tuple(a["text"] for a in qa["answers"]))
        for p in raw["paragraphs"]
        for qa in p["qas"]
    ]
    return Squad2Article(raw["title"], story, questions)
