"""`Library`: a loaded index you can ask questions of, from the bot, the CLI or a REPL.

    >>> from index import Library
    >>> Library.load("data/index").ask("How many White Helmets are still trapped?")

Every quote is cut from the stored story text by sentence offsets, so it is verbatim by construction.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .candidates import CANDIDATE_PARAGRAPHS, Candidates, CandidateScorer
from .canonical import QuestionForm, RecentReadings
from .cleaning import clean_question, valid_text
from .cross_encoder_onnx import OnnxCrossEncoder, query_cross_encoder
from .embedder import CachedEncoder, Encoder
from .errors import StoryNeeded, UnknownStory
from .memory import memory_index
from .models import Answer, AnswerStatus, Paragraph, Quote, Story, StoryInfo, Summary
from .onnx_encoder import query_encoder
from .options import EngineOptions
from .pgstore import PREFIX, DatabaseIndex
from .quoting import quote_text, quoted_paragraphs
from .ranking import (
    CrossEncoderWeights,
    Ranking,
    Weights,
    answer_features,
    answer_probability,
    decision_probabilities,
    load_weights,
    rank,
)
from .refs import RefStatus, resolve_ref
from .rereading import Rereading, cross_encoder_decision, quote_weights, reread, to_read
from .rows import RowLayout
from .store import IndexData, Manifest, check_encoder, read_build
from .summarise import DEFAULT_WEIGHTS, SummaryWeights, choose_sentences, prose_words

__all__ = ["CANDIDATE_PARAGRAPHS", "MAX_QUESTION_CHARS", "Library"]

MAX_QUESTION_CHARS = 1000


class Library:
    """Stories plus their index, answering questions with verbatim quotes.

    The work is split by concern: `RowLayout` maps index rows to text, `CandidateScorer` finds and scores what
    could answer, `ranking` ranks and decides whether to answer, and `quoting` cuts the quotes.
    """

    def __init__(
        self,
        data: IndexData,
        encoder: Encoder,
        weights: Weights | None = None,
        cross_encoder: OnnxCrossEncoder | None = None,
    ) -> None:
        self.data = data
        # Questions go through a cache of recent embeddings (shared across reloads when `encoder` is one already);
        # `encoder` is the model itself, for callers that embed other texts (the editors' report, training).
        self._questions = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder)
        self.encoder: Encoder = self._questions.inner
        self.weights = weights or load_weights()
        # The cross-encoder (index.rereading) rereads the ranker's best sentences when the index has one.
        self.cross_encoder = cross_encoder
        self.cross_encoder_weights = self.weights.cross_encoder or CrossEncoderWeights()
        self.summary_weights: SummaryWeights = DEFAULT_WEIGHTS  # benchmarks may try others
        self._by_slug = {s.slug: i for i, s in enumerate(data.stories)}
        changed = {e.slug: e.changed_at.date() for e in data.manifest.stories if e.changed_at is not None}
        # The date an edit last touched each story: the editor's `updated:`, else when a build saw the text change.
        self._updated = {s.slug: s.updated or changed.get(s.slug) for s in data.stories}
        self.rows = RowLayout(data.stories)  # index row -> story, paragraph, sentence
        self.scorer = CandidateScorer(data, self.rows)
        self._readings = RecentReadings()

    # ----------------------------------------------------------------- construction
    @classmethod
    def load(
        cls,
        path: str | Path,
        options: EngineOptions | None = None,
        *,
        encoder: Encoder | None = None,
        use_cross_encoder: bool = True,
        database: DatabaseIndex | None = None,
    ) -> Library:
        """Load the index at `path`; questions are encoded by the index's own ONNX export unless `encoder` is given.

        Either way the encoder must match the index (model, quantisation, dimension): IndexMismatch if not.
        With `options` (the settings), `options.model` does not choose a model, the index has one: it is checked,
        and an index built with another model is refused with IndexMismatch; each ONNX call runs on
        `options.encoder_threads`. Without, any model is served, one thread a call.
        The index's cross-encoder export, when it has one, rereads candidates unless `use_cross_encoder` is False.
        `database` (DATABASE_URL): the index is in PostgreSQL; `path` is then an index folder (its current build)
        or a build's folder under it (`DatabaseIndex.folder_of`).
        """
        expect_dimension = encoder.dimension if encoder else None
        expect_model, threads = (options.model, options.encoder_threads) if options else (None, 1)
        if database is not None:
            folder = Path(path)
            if not folder.name.startswith(PREFIX):
                folder = database.current_folder()
            data = database.read(folder, expect_model=expect_model, expect_dimension=expect_dimension)
        else:
            data = read_build(Path(path), expect_model=expect_model, expect_dimension=expect_dimension)
        encoder = encoder or query_encoder(data, threads=threads)
        check_encoder(data.manifest, encoder, data.path)
        return cls(
            data, encoder, cross_encoder=query_cross_encoder(data, threads=threads) if use_cross_encoder else None
        )

    @classmethod
    def from_stories(
        cls,
        stories: list[Story],
        encoder: Encoder,
        weights: Weights | None = None,
        cross_encoder: OnnxCrossEncoder | None = None,
    ) -> Library:
        """An in-memory library (benchmarks, tests, notebooks): no files written."""
        return cls(memory_index(stories, encoder), encoder, weights, cross_encoder)

    # ----------------------------------------------------------------- stories
    @property
    def manifest(self) -> Manifest:
        return self.data.manifest

    def stories(self) -> list[StoryInfo]:
        entries = {e.slug: e for e in self.manifest.stories}
        return [
            StoryInfo(
                slug=s.slug,
                title=s.title,
                byline=s.byline,
                published=s.published,
                updated=self._updated[s.slug],
                url=s.url,
                sources=list(s.sources),
                paragraphs=len(s.paragraphs),
                indexed_at=entries[s.slug].indexed_at,
            )
            for s in self.data.stories
        ]

    def story(self, slug: str) -> Story:
        if slug not in self._by_slug:
            raise UnknownStory(slug, list(self._by_slug))
        return self.data.stories[self._by_slug[slug]]

    def update_note(self, slug: str) -> dt.date | None:
        """The date to show as "updated <date>": set only when the story changed after it was published."""
        updated = self._updated.get(slug)
        published = self.data.stories[self._by_slug[slug]].published if slug in self._by_slug else None
        return updated if updated is not None and (published is None or updated > published) else None

    def paragraph_vectors(self, story: str | None = None) -> np.ndarray:
        """The stored embeddings of a story's paragraphs (every story's when None), in reading order."""
        if story is None:
            return self.scorer.paragraph_vectors.all()
        return self.scorer.paragraph_vectors[self.rows.story_rows[self._by_slug[self.story(story).slug]]]

    def resolve_ref(self, slug: str, paragraph: int, digest: str | None) -> RefStatus:
        """Is a logged quote ref (story, paragraph number, paragraph hash) still the same text in this index?"""
        story = self.data.stories[self._by_slug[slug]] if slug in self._by_slug else None
        return resolve_ref(story, slug, paragraph, digest)

    # ----------------------------------------------------------------- asking
    @functools.cached_property
    def question_form(self) -> QuestionForm:
        """How questions are normalised for this library's stories (index.canonical): as the build stored it, else
        made from the stories on the first question (an in-memory library, a build from before forms were stored)."""
        stored = self.data.question_form
        return stored or QuestionForm.of(p.text for s in self.data.stories for p in s.paragraphs)

    def reading_of(self, question: str) -> str:
        """What the engine reads of a question: chat markup gone (`clean_question`), then its normal form, the same
        for every trivial variant (`index.canonical`). Recent ones are kept: ask --batch reads each line twice."""
        return self._readings.get(question, self._read)

    def _read(self, question: str) -> str:
        return self.question_form.normal(clean_question(valid_text(question)))

    def encode_question(self, question: str) -> np.ndarray:
        """The question's embedding, from the cache of recent questions when it was asked before."""
        return self._questions.encode([question])[0]

    def encode_ahead(self, questions: Sequence[str]) -> None:
        """Encode `questions` as `ask` will, into the cache of recent questions, so that asking them later finds
        their vectors: `ask --batch` encodes the next lines on a thread while these are ranked. Together in one
        call when the encoder is batch-invariant (each vector is then what the question alone gets, bit for bit),
        else one at a time: either way each answer is `ask`'s."""
        texts = [self.reading_of(q) for q in questions]  # what ask_many encodes: the normal form
        texts = [t for q, t in zip(questions, texts) if self._refusal(q, t, None) is None]
        if self._questions.batch_invariant:
            self._questions.encode(texts)
        else:
            for text in texts:
                self._questions.encode([text])

    def ask(self, question: str, story: str | None = None, *, top_k: int = 3) -> Answer:
        """Answer with 1 to `top_k` verbatim quotes (ANSWERED), show the closest passage the same way under a hedge
        when unsure (CLOSEST), or abstain when nothing is close (NOT_COVERED)."""
        return self.ask_many([question], [story], top_k=top_k)[0]

    def ask_many(
        self, questions: Sequence[str], stories: Sequence[str | None] | None = None, *, top_k: int = 3
    ) -> list[Answer]:
        """`ask` for many questions at once, answers in order: one encode and one search per index for all of
        them (where a batch saves time), then each is ranked and quoted exactly as `ask` does it."""
        scopes = list(stories) if stories is not None else [None] * len(questions)
        if len(scopes) != len(questions):
            raise ValueError(f"{len(questions)} questions but {len(scopes)} stories")
        for story in scopes:
            if story is not None:
                self.story(story)  # raises UnknownStory
        questions = [valid_text(q) for q in questions]  # a lone surrogate would break the tokenizer and the JSON
        texts = [self.reading_of(q) for q in questions]
        answers = [self._refusal(q, t, s) for q, t, s in zip(questions, texts, scopes)]
        todo = [i for i, answer in enumerate(answers) if answer is None]
        vectors = self._questions.encode([texts[i] for i in todo])
        wide = [k for k, i in enumerate(todo) if scopes[i] is None]
        dense = dict(zip(wide, self.scorer.dense_rows(vectors[wide]))) if wide else {}
        found = [
            self.candidates(texts[i], scopes[i], vector=vectors[k], dense_rows=dense.get(k)) for k, i in enumerate(todo)
        ]
        rankings = [rank(c, self.weights) if c is not None else None for c in found]
        readings = self.rereadings([texts[i] for i in todo], found, rankings)
        for i, c, r, reading in zip(todo, found, rankings, readings):
            answers[i] = self._answer(questions[i], scopes[i], c, r, reading, top_k)
        return answers  # type: ignore[return-value]  # every None was replaced above

    def rereadings(
        self, questions: Sequence[str], found: Sequence[Candidates | None], rankings: Sequence[Ranking | None]
    ) -> list[Rereading | None]:
        """The cross-encoder's logits for each question's best candidate sentences: one session call for all of them."""
        if self.cross_encoder is None:
            return [None] * len(questions)
        n = self.cross_encoder_weights.top_n
        chosen = [to_read(r, n) if r is not None else np.zeros(0, np.int64) for r in rankings]
        pairs = [
            (q, self.rows.sentence_text(int(c.sentence_rows[pos])))
            for q, c, positions in zip(questions, found, chosen)
            if c is not None
            for pos in positions
        ]
        logits = self.cross_encoder.logits(pairs)
        out: list[Rereading | None] = []
        start = 0
        for c, positions in zip(found, chosen):
            if c is None:
                out.append(None)
                continue
            out.append(Rereading(positions, logits[start : start + len(positions)]))
            start += len(positions)
        return out

    def _refusal(self, question: str, text: str, story: str | None) -> Answer | None:
        """The polite answer to a question the engine cannot take (empty, too long); None for a real one."""
        if not any(ch.isalnum() for ch in text):
            return Answer(
                question=question,
                status=AnswerStatus.EMPTY_QUESTION,
                story=story,
                message="Ask a question about the story.",
            )
        if len(text) > MAX_QUESTION_CHARS:
            return Answer(
                question=_bounded(question),
                status=AnswerStatus.QUESTION_TOO_LONG,
                story=story,
                message=f"That question is too long; please ask it in under {MAX_QUESTION_CHARS} characters.",
            )
        return None

    def decide(
        self, c: Candidates, r: Ranking, reading: Rereading | None
    ) -> tuple[Ranking, float, AnswerStatus, Weights]:
        """(the final ranking, confidence, the tier: ANSWERED, CLOSEST or NOT_COVERED, the weights quoting reads)
        for one question. The tier is the confidence cut by the thresholds fitted beside it (`Thresholds.tier`)."""
        features = answer_features(c, r)
        if reading is None:
            confidence, related = decision_probabilities(features, self.weights)
            return r, confidence, self.weights.tier(confidence, related), self.weights
        confidence = answer_probability(features, self.weights)
        rw = self.cross_encoder_weights
        final = reread(c, r, reading, rw)
        confidence, related = cross_encoder_decision(c, final, reading, confidence, rw)
        return final, confidence, rw.tier(confidence, related), quote_weights(self.weights, rw)

    def _answer(
        self,
        question: str,
        story: str | None,
        candidates: Candidates | None,
        ranking: Ranking | None,
        reading: Rereading | None,
        top_k: int,
    ) -> Answer:
        if candidates is None or ranking is None:
            return self._not_covered(question, story, 0.0)
        ranking, confidence, status, weights = self.decide(candidates, ranking, reading)
        if status is AnswerStatus.NOT_COVERED:
            return self._not_covered(question, story, confidence)
        quotes = self._quotes(candidates, ranking, confidence, top_k, weights)
        first = quotes[0]
        message = (
            f"Found in {first.title}, paragraph {first.paragraph}."
            if status is AnswerStatus.ANSWERED
            else f"“{first.title}” may not answer this directly; the closest passage is ¶{first.paragraph}."
        )
        return Answer.model_construct(  # built from the engine's own values: no validation per question
            question=question, status=status, quotes=quotes, story=story, message=message, confidence=confidence
        )

    def paragraph_ranking(self, question: str, story: str | None = None) -> list[int]:
        """Paragraph numbers of the candidates, most likely to answer first (for benchmarks and debugging)."""
        text = self.reading_of(question)
        candidates = self.candidates(text, story)
        if candidates is None:
            return []
        ranking = rank(candidates, self.weights)
        reading = self.rereadings([text], [candidates], [ranking])[0]
        if reading is not None:
            ranking = reread(candidates, ranking, reading, self.cross_encoder_weights)
        return [self.rows.paragraph(int(candidates.paragraph_rows[i])).number for i in ranking.paragraph_order]

    def _not_covered(self, question: str, story: str | None, confidence: float) -> Answer:
        """The polite no: names the story when there is only one it could have been."""
        only = story or (self.data.stories[0].slug if len(self.data.stories) == 1 else None)
        message = f"“{self.story(only).title}” doesn't say that." if only else "None of the stories here says that."
        return Answer.model_construct(
            question=question, status=AnswerStatus.NOT_COVERED, story=story, message=message, confidence=confidence
        )

    def candidates(
        self,
        question: str,
        story: str | None = None,
        *,
        vector: np.ndarray | None = None,
        dense_rows: np.ndarray | None = None,
    ) -> Candidates | None:
        """Score the paragraphs that could answer (a story's own, or the best of the library) and their sentences.

        `vector` (the question's embedding) and `dense_rows` (its `scorer.dense_rows`) when the caller has them.
        """
        vector = self.encode_question(question) if vector is None else vector
        story_index = None if story is None else self._by_slug[story]
        return self.scorer.score(question, vector, story_index, dense_rows=dense_rows)

    def _quotes(self, c: Candidates, r: Ranking, confidence: float, top_k: int, weights: Weights) -> list[Quote]:
        quotes = []
        for para_pos, best, margin in quoted_paragraphs(r, weights, top_k):
            row = int(c.paragraph_rows[para_pos])
            paragraph = self.rows.paragraph(row)
            text = quote_text(paragraph, c, r, best, weights.neighbour_ratio)
            quotes.append(self._quote(self.rows.story_of(row), paragraph, text, confidence * float(np.exp(-margin))))
        return quotes

    def _quote(self, story: Story, paragraph: Paragraph, text: str, score: float) -> Quote:
        return Quote.model_construct(  # every value is a story's or a float: nothing to validate
            text=text,
            story=story.slug,
            title=story.title,
            paragraph=paragraph.number,
            paragraph_hash=paragraph.content_hash,
            sources=list(story.sources),
            url=story.url,
            score=round(min(max(score, 0.0), 1.0), 4),
            updated=self.update_note(story.slug),
        )

    # ----------------------------------------------------------------- summaries
    def summary(self, story: str | None = None, *, sentences: int = 3) -> Summary:
        """An extractive summary: up to `sentences` of the story's sentences, verbatim, in story order.

        Chosen by `choose_sentences` (directed centrality, a lead prior, no near-duplicates) over every
        sentence of every paragraph; a story shorter than `sentences` is quoted whole.
        """
        if sentences < 1:
            raise ValueError(f"a summary needs at least one sentence, not {sentences}")
        if story is None:
            if len(self.data.stories) != 1:
                raise StoryNeeded(list(self._by_slug))
            story = self.data.stories[0].slug
        chosen = self.story(story)
        sentence_rows = self.rows.sentence_rows(self.rows.story_rows[self._by_slug[story]])
        texts = [self.rows.sentence_text(int(row)) for row in sentence_rows]
        picks = choose_sentences(
            self.scorer.sentence_vectors[sentence_rows],
            count=sentences,
            words=[prose_words(t) for t in texts],
            weights=self.summary_weights,
        )
        quotes = [
            self._quote(chosen, self.rows.paragraph(int(self.rows.sent_para[sentence_rows[pick]])), texts[pick], 1.0)
            for pick in sorted(picks)
        ]
        return Summary(
            story=chosen.slug, title=chosen.title, url=chosen.url, sources=list(chosen.sources), quotes=quotes
        )


def _bounded(question: str) -> str:
    """A refused over-long question as its answer echoes it: the first MAX_QUESTION_CHARS characters, not megabytes."""
    return question if len(question) <= MAX_QUESTION_CHARS else question[:MAX_QUESTION_CHARS] + "…"
