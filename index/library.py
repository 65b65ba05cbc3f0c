"""`Library`: a loaded index you can ask questions of, from the bot, the CLI or a REPL.

    >>> from index import Library
    >>> Library.load("data/index").ask("How many White Helmets are still trapped?")

Every quote is cut from the stored story text by sentence offsets, so it is verbatim by construction.
"""

from __future__ import annotations

import datetime as dt
import itertools
import unicodedata
from pathlib import Path

import numpy as np

from .batching import QuestionBatcher
from .embedder import CachedEncoder, Encoder
from .features import question_kind, question_names, sentence_cues
from .lexical import BM25, coverage, missing, tokenize
from .models import Answer, AnswerStatus, Quote, Story, StoryInfo, Summary
from .onnx_encoder import query_encoder
from .refs import RefStatus, resolve_ref
from .retrieve import (
    MAX_QUOTE_CHARS,
    Candidates,
    Ranking,
    Weights,
    answer_features,
    answer_probability,
    load_weights,
    rank,
    sigmoid,
)
from .store import IndexData, Manifest, StoryEntry, check_encoder, flat_index, read_build
from .summarise import DEFAULT_WEIGHTS, SummaryWeights, choose_sentences, prose_words
from .vectors import RowVectors, search_on_one_thread

MAX_QUESTION_CHARS = 1000
CANDIDATE_PARAGRAPHS = 40
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


class UnknownStory(KeyError):
    def __init__(self, slug: str, known: list[str]) -> None:
        self.slug = slug
        self.known = known
        super().__init__(f"no story {slug!r}; known stories: {', '.join(known) or 'none'}")

    def __str__(self) -> str:
        return str(self.args[0])


def clean_question(question: str) -> str:
    """The question as the engine reads it: invisible characters gone, white space folded."""
    text = unicodedata.normalize("NFC", question).translate(_INVISIBLE)
    return " ".join(text.split())


class Library:
    """Stories plus their index, answering questions with verbatim quotes."""

    def __init__(self, data: IndexData, encoder: Encoder, weights: Weights | None = None) -> None:
        self.data = data
        self.encoder = encoder if isinstance(encoder, CachedEncoder) else CachedEncoder(encoder)
        self.weights = weights or load_weights()
        self.summary_weights: SummaryWeights = DEFAULT_WEIGHTS  # benchmarks may try others
        # Concurrent questions (executor threads) are encoded together, and only one thread at a time touches
        # the question cache: the batcher's leader.
        self._batcher = QuestionBatcher(self.encoder)
        self._by_slug = {s.slug: i for i, s in enumerate(data.stories)}
        changed = {e.slug: e.changed_at.date() for e in data.manifest.stories if e.changed_at is not None}
        # The date an edit last touched each story: the editor's `updated:`, else when a build saw the text change.
        self._updated = {s.slug: s.updated or changed.get(s.slug) for s in data.stories}
        # Row bookkeeping: paragraph row -> (story, paragraph index); sentence row -> (paragraph row, index).
        self._para_story: list[int] = []
        self._para_index: list[int] = []
        self._story_rows: list[np.ndarray] = []
        sent_para: list[int] = []
        sent_index: list[int] = []
        self._para_sentences: list[range] = []
        for si, story in enumerate(data.stories):
            first = len(self._para_story)
            for pi, paragraph in enumerate(story.paragraphs):
                row = len(self._para_story)
                self._para_story.append(si)
                self._para_index.append(pi)
                self._para_sentences.append(range(len(sent_para), len(sent_para) + len(paragraph.sentences)))
                sent_para.extend([row] * len(paragraph.sentences))
                sent_index.extend(range(len(paragraph.sentences)))
            self._story_rows.append(np.arange(first, len(self._para_story)))
        self._sent_para = np.asarray(sent_para, dtype=np.int64)
        self._sent_index = np.asarray(sent_index, dtype=np.int64)
        # Candidate rows are read through the FAISS index itself: no second copy of every vector.
        self._paragraph_vectors = RowVectors(data.paragraph_vectors)
        self._sentence_vectors = RowVectors(data.sentence_vectors)
        search_on_one_thread()
        # What the ranker reads from each sentence besides its scores, computed once rather than per question.
        texts = [self._sentence_text(r) for r in range(len(self._sent_para))]
        self._sent_chars = np.array([len(t) for t in texts], dtype=np.float32)
        self._sent_cues = np.array([sentence_cues(t) for t in texts], dtype=np.float32).reshape(len(texts), -1)
        self._sent_bigrams = [set(itertools.pairwise(terms)) for terms in map(tokenize, texts)]

    # ----------------------------------------------------------------- construction
    @classmethod
    def load(cls, path: str | Path, *, encoder: Encoder | None = None, model: str | None = None) -> Library:
        """Load the index at `path`; questions are encoded by the index's own ONNX export unless `encoder` is given.

        Either way the encoder must match the index (model, quantisation, dimension): IndexMismatch if not.
        """
        data = read_build(Path(path), expect_model=model, expect_dimension=encoder.dimension if encoder else None)
        encoder = encoder or query_encoder(data)
        check_encoder(data.manifest, encoder, data.path)
        return cls(data, encoder)

    @classmethod
    def from_stories(cls, stories: list[Story], encoder: Encoder, weights: Weights | None = None) -> Library:
        """An in-memory library (benchmarks, tests, notebooks): no files written."""
        paragraphs = [p.text for s in stories for p in s.paragraphs]
        sentences = [p.sentence_text(i) for s in stories for p in s.paragraphs for i in range(len(p.sentences))]
        vectors = encoder.encode(paragraphs + sentences)
        now = dt.datetime.now(dt.UTC)
        manifest = Manifest(
            format_version=0,
            model=encoder.name,
            backend="memory",
            quantization=getattr(encoder, "quantization", "fp32"),
            model_fingerprint=getattr(encoder, "fingerprint", ""),
            dimension=encoder.dimension,
            built_at=now,
            content_dir="",
            stories=[
                StoryEntry(
                    slug=s.slug,
                    file=s.file,
                    content_hash=s.content_hash,
                    title=s.title,
                    paragraphs=len(s.paragraphs),
                    sentences=sum(len(p.sentences) for p in s.paragraphs),
                    indexed_at=now,
                )
                for s in stories
            ],
            files={},
        )
        data = IndexData(
            path=Path("."),
            manifest=manifest,
            stories=list(stories),
            paragraph_vectors=flat_index(vectors[: len(paragraphs)], encoder.dimension),
            sentence_vectors=flat_index(vectors[len(paragraphs) :], encoder.dimension),
            paragraph_bm25=BM25.fit(paragraphs),
            sentence_bm25=BM25.fit(sentences),
        )
        return cls(data, encoder, weights)

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

    def resolve_ref(self, slug: str, paragraph: int, digest: str | None) -> RefStatus:
        """Is a logged quote ref (story, paragraph number, paragraph hash) still the same text in this index?"""
        story = self.data.stories[self._by_slug[slug]] if slug in self._by_slug else None
        return resolve_ref(story, slug, paragraph, digest)

    # ----------------------------------------------------------------- asking
    def encode_question(self, question: str) -> np.ndarray:
        return self._batcher.encode(question)

    def ask(self, question: str, story: str | None = None, *, top_k: int = 3) -> Answer:
        """Answer with 1 to `top_k` verbatim quotes, or abstain when no passage answers."""
        text = clean_question(question)
        if story is not None:
            self.story(story)  # raises UnknownStory
        if not any(ch.isalnum() for ch in text):
            return Answer(
                question=question,
                status=AnswerStatus.EMPTY_QUESTION,
                story=story,
                message="Ask a question about the story.",
            )
        if len(text) > MAX_QUESTION_CHARS:
            return Answer(
                question=question,
                status=AnswerStatus.QUESTION_TOO_LONG,
                story=story,
                message=f"That question is too long; please ask it in under {MAX_QUESTION_CHARS} characters.",
            )
        candidates = self.candidates(text, story)
        if candidates is None:
            return self._not_covered(question, story, 0.0)
        ranking = rank(candidates, self.weights)
        confidence = answer_probability(answer_features(candidates, ranking), self.weights)
        if confidence < self.weights.answer_threshold:
            return self._not_covered(question, story, confidence)
        quotes = self._quotes(candidates, ranking, confidence, top_k)
        return Answer(
            question=question,
            status=AnswerStatus.ANSWERED,
            quotes=quotes,
            story=story,
            message=f"Found in {quotes[0].title}, paragraph {quotes[0].paragraph}.",
            confidence=confidence,
        )

    def paragraph_ranking(self, question: str, story: str | None = None) -> list[int]:
        """Paragraph numbers of the candidates, most likely to answer first (for benchmarks and debugging)."""
        candidates = self.candidates(clean_question(question), story)
        if candidates is None:
            return []
        ranking = rank(candidates, self.weights)
        return [self._paragraph(int(candidates.paragraph_rows[i])).number for i in ranking.paragraph_order]

    def _not_covered(self, question: str, story: str | None, confidence: float) -> Answer:
        """The polite no: names the story when there is only one it could have been."""
        only = story or (self.data.stories[0].slug if len(self.data.stories) == 1 else None)
        message = f"“{self.story(only).title}” doesn't say that." if only else "None of the stories here says that."
        return Answer(
            question=question, status=AnswerStatus.NOT_COVERED, story=story, message=message, confidence=confidence
        )

    def candidates(self, question: str, story: str | None = None) -> Candidates | None:
        """Score the paragraphs that could answer (a story's own, or the best of the library) and their sentences."""
        vector = self.encode_question(question)
        bm25_p, bm25_s = self.data.paragraph_bm25, self.data.sentence_bm25
        p_ids, p_idf = bm25_p.query_terms(question)
        if story is not None:
            rows = self._story_rows[self._by_slug[story]]
        else:
            rows = self._library_candidates(vector, p_ids)
        if len(rows) == 0:
            return None
        s_rows = np.concatenate([np.asarray(self._para_sentences[r], dtype=np.int64) for r in rows])
        position = {int(r): i for i, r in enumerate(rows)}
        s_ids, s_idf = bm25_s.query_terms(question)
        p_block, s_block = bm25_p.block(p_ids, rows), bm25_s.block(s_ids, s_rows)
        terms = tokenize(question)
        pairs = set(itertools.pairwise(terms))
        bigram = [len(pairs & self._sent_bigrams[r]) / len(pairs) if pairs else 0.0 for r in s_rows]
        return Candidates(
            paragraph_rows=rows,
            paragraph_dense=self._paragraph_vectors[rows] @ vector,
            paragraph_bm25=p_block.sum(axis=1, dtype=np.float32),
            paragraph_coverage=coverage(p_block > 0, p_idf),
            paragraph_missing=missing(p_block > 0, p_idf),
            sentence_rows=s_rows,
            sentence_paragraph=np.array([position[int(p)] for p in self._sent_para[s_rows]], dtype=np.int64),
            sentence_position=self._sent_index[s_rows],
            sentence_dense=self._sentence_vectors[s_rows] @ vector,
            sentence_bm25=s_block.sum(axis=1, dtype=np.float32),
            sentence_coverage=coverage(s_block > 0, s_idf),
            sentence_bigram=np.asarray(bigram, dtype=np.float32),
            sentence_chars=self._sent_chars[s_rows],
            sentence_cues=self._sent_cues[s_rows],
            kind=question_kind(question),
            terms=len(p_idf),
            unseen_share=float(p_idf[len(p_ids) :].sum() / p_idf.sum()) if p_idf.sum() > 0 else 1.0,
            **self._names(question, rows),
        )

    def _names(self, question: str, rows: np.ndarray) -> dict[str, object]:
        """How much of what the question names (its capitalised words) the paragraphs and the library hold."""
        names = list(dict.fromkeys(tokenize(question_names(question))))
        if not names:
            return {"paragraph_names": np.ones(len(rows), dtype=np.float32), "names_unseen": -1.0}
        bm25 = self.data.paragraph_bm25
        ids = np.array([bm25.vocab[n] for n in names if n in bm25.vocab], dtype=np.int64)
        held = bm25.presence(ids, rows).sum(axis=1) if len(ids) else np.zeros(len(rows))
        return {
            "paragraph_names": (held / len(names)).astype(np.float32),
            "names_unseen": 1.0 - len(ids) / len(names),
        }

    def _library_candidates(self, vector: np.ndarray, p_ids: np.ndarray) -> np.ndarray:
        n = self.data.paragraph_vectors.ntotal
        k = min(n, CANDIDATE_PARAGRAPHS)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        _, dense_rows = self.data.paragraph_vectors.search(vector[None, :], k)
        _, sentence_rows = self.data.sentence_vectors.search(vector[None, :], min(self.data.sentence_vectors.ntotal, k))
        lexical = self.data.paragraph_bm25.scores(p_ids)
        top = np.argpartition(-lexical, k - 1)[:k] if k < len(lexical) else np.arange(len(lexical))
        lexical_rows = top[lexical[top] > 0]  # a partial sort: a full one costs O(n log n) on big libraries
        rows = np.concatenate([dense_rows[0], self._sent_para[sentence_rows[0][sentence_rows[0] >= 0]], lexical_rows])
        return np.unique(rows[rows >= 0])

    def _sentence_text(self, sentence_row: int) -> str:
        paragraph_row = int(self._sent_para[sentence_row])
        return self._paragraph(paragraph_row).sentence_text(int(self._sent_index[sentence_row]))

    def _paragraph(self, paragraph_row: int):  # type: ignore[no-untyped-def]
        return self.data.stories[self._para_story[paragraph_row]].paragraphs[self._para_index[paragraph_row]]

    def _quotes(self, c: Candidates, r: Ranking, confidence: float, top_k: int) -> list[Quote]:
        top_score = float(r.paragraph_score[r.paragraph_order[0]])
        quotes: list[Quote] = []
        for rank_position, para_pos in enumerate(r.paragraph_order[: max(top_k, 1)]):
            para_pos = int(para_pos)
            margin = top_score - float(r.paragraph_score[para_pos])
            if rank_position and not self._extra_quote_ok(float(r.paragraph_score[para_pos]), margin):
                break
            best = int(r.best_sentence[para_pos])
            if best < 0:
                continue
            row = int(c.paragraph_rows[para_pos])
            quotes.append(self._quote(c, r, row, best, confidence * float(np.exp(-margin))))
        return quotes

    def _extra_quote_ok(self, logit: float, margin: float) -> bool:
        """A 2nd or 3rd quote only when it is nearly as likely as the first and likely enough on its own."""
        cut = self.weights.extra_quote_min_logit
        return margin <= self.weights.extra_quote_margin and (cut is None or logit >= cut)

    def _quote(self, c: Candidates, r: Ranking, paragraph_row: int, best: int, score: float) -> Quote:
        """The best sentence, joined by a neighbour the ranker finds nearly as likely, cut verbatim."""
        paragraph = self._paragraph(paragraph_row)
        story = self.data.stories[self._para_story[paragraph_row]]
        first = last = int(c.sentence_position[best])
        same = np.flatnonzero(c.sentence_paragraph == c.sentence_paragraph[best])
        probability = {int(c.sentence_position[i]): float(sigmoid(r.sentence_score[i])) for i in same}
        neighbours = sorted((first - 1, first + 1), key=lambda i: -probability.get(i, -1.0))
        for candidate in neighbours:
            if probability.get(candidate, -1.0) >= self.weights.neighbour_ratio * probability[first]:
                lo, hi = min(first, candidate), max(last, candidate)
                if len(paragraph.span_text(lo, hi)) <= MAX_QUOTE_CHARS:
                    first, last = lo, hi
                    break
        text = paragraph.span_text(first, last)
        if len(text) > MAX_QUOTE_CHARS:
            cut = text.rfind(" ", 0, MAX_QUOTE_CHARS)
            text = text[: cut if cut > 0 else MAX_QUOTE_CHARS].rstrip(" ,;:")
        return Quote(
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
                raise ValueError(f"{len(self.data.stories)} stories are indexed: name one ({', '.join(self._by_slug)})")
            story = self.data.stories[0].slug
        chosen = self.story(story)
        index = self._by_slug[story]
        rows = np.concatenate([np.asarray(self._para_sentences[r], dtype=np.int64) for r in self._story_rows[index]])
        texts = [self._sentence_text(int(row)) for row in rows]
        picks = choose_sentences(
            self._sentence_vectors[rows],
            count=sentences,
            words=[prose_words(t) for t in texts],
            weights=self.summary_weights,
        )
        quotes = []
        for pick in sorted(picks):
            row = int(rows[pick])
            paragraph = self._paragraph(int(self._sent_para[row]))
            quotes.append(
                Quote(
                    text=texts[pick],
                    story=chosen.slug,
                    title=chosen.title,
                    paragraph=paragraph.number,
                    paragraph_hash=paragraph.content_hash,
                    sources=list(chosen.sources),
                    url=chosen.url,
                    score=1.0,
                    updated=self.update_note(chosen.slug),
                )
            )
        return Summary(
            story=chosen.slug, title=chosen.title, url=chosen.url, sources=list(chosen.sources), quotes=quotes
        )
