"""The vectorised per-question paths give, bit for bit, what the loops and calls they replaced gave.

Each reference below is the code an answer was computed with before (issue 20): a Python loop, np.unique, a
column selection of the full feature matrix. An answer's confidence is printed to its last digit, so "close" is
not enough: every comparison is exact.
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import index
from index import Library
from index.arrays import sorted_unique, spans
from index.candidates import Candidates
from index.canonical import RecentReadings
from index.cues import CUE_NAMES, QUESTION_KINDS
from index.features import (
    SENTENCE_FEATURES,
    _zscore_calls,
    best_in_group,
    group_max,
    log_rank,
    sentence_matrix,
    zscore,
)
from index.quoting import quote_text
from index.ranking import (
    MAX_QUOTE_CHARS,
    answer_features,
    answer_probability,
    decision_probabilities,
    load_weights,
    rank,
    related_probability,
    sentence_scores,
    sigmoid,
)
from index.sentence_inputs import question_pairs

QUESTIONS = [
    "How many White Helmets are still trapped in Syria?",
    "Who led the evacuation?",
    "When did the rescue workers leave?",
    "What did the British foreign secretary say about Israel?",
    "Why were they trapped near the Golan Heights?",
    "What is the capital of Peru?",
]


def _reference_best(scores: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    best = np.full(n, -1, dtype=np.int64)
    for pos in np.argsort(scores, kind="stable"):
        best[groups[pos]] = pos
    return best


def _neighbour(values: np.ndarray, sp: np.ndarray, fill: float) -> np.ndarray:
    prev, nxt = np.full(len(values), fill, dtype=np.float32), np.full(len(values), fill, dtype=np.float32)
    same = sp[1:] == sp[:-1]
    prev[1:][same], nxt[:-1][same] = values[:-1][same], values[1:][same]
    return np.maximum(prev, nxt)


def _reference_matrix(c: Candidates) -> np.ndarray:
    """The full feature matrix as np.column_stack built it."""
    n_p, sp = len(c.paragraph_rows), c.sentence_paragraph
    s_zd, s_zb = zscore(c.sentence_dense), zscore(c.sentence_bm25)
    p_zd, p_zb = zscore(c.paragraph_dense), zscore(c.paragraph_bm25)
    fused = s_zd + s_zb
    numeric = [
        s_zd, s_zb, c.sentence_dense, c.sentence_coverage, c.sentence_bigram,
        s_zd.max() - s_zd, s_zb.max() - s_zb, log_rank(c.sentence_dense), log_rank(c.sentence_bm25),
        np.log1p(c.sentence_chars / 100.0), (c.sentence_position == 0), np.minimum(c.sentence_position, 10) / 10.0,
        _neighbour(s_zd, sp, -3.0), _neighbour(s_zb, sp, -3.0), _neighbour(c.sentence_coverage, sp, 0.0),
        p_zd[sp], p_zb[sp], c.paragraph_coverage[sp], (p_zd.max() - p_zd)[sp], (p_zb.max() - p_zb)[sp],
        log_rank(c.paragraph_dense)[sp], log_rank(c.paragraph_bm25)[sp],
        group_max(s_zd, sp, n_p)[sp], group_max(s_zb, sp, n_p)[sp], group_max(c.sentence_coverage, sp, n_p)[sp],
        fused, fused.max() - fused,
    ]  # fmt: skip
    kind = np.zeros((len(sp), len(QUESTION_KINDS) * len(CUE_NAMES)), dtype=np.float32)
    k = len(CUE_NAMES)
    kind[:, c.kind * k : (c.kind + 1) * k] = c.sentence_cues
    return np.column_stack([np.column_stack(numeric).astype(np.float32), c.sentence_cues, kind])


@pytest.fixture(scope="module")
def found(library: Library) -> list[Candidates]:
    candidates = [library.candidates(library.reading_of(q)) for q in QUESTIONS]
    assert all(c is not None for c in candidates)
    return candidates  # type: ignore[return-value]


def test_feature_matrix_and_scores_are_the_column_selection_they_replaced(found: list[Candidates]) -> None:
    weights = load_weights()
    assert weights.sentence_coef, "the shipped weights are fitted"
    columns = [SENTENCE_FEATURES.index(name) for name in weights.sentence_features]
    coef = np.asarray(weights.sentence_coef, dtype=np.float32)
    for c in found:
        full = _reference_matrix(c)
        assert np.array_equal(sentence_matrix(c), full)
        chosen = sentence_matrix(c, tuple(weights.sentence_features))
        assert np.array_equal(chosen, full[:, columns])
        # the layout too: a matrix-vector product sums in another order over a row-major matrix
        assert chosen.flags.f_contiguous
        old = full[:, columns] @ coef + weights.sentence_intercept
        assert np.array_equal(sentence_scores(c, weights), old)
    for kind in range(len(QUESTION_KINDS)):  # each kind's cue columns (a slice for the shipped features)
        c = dataclasses.replace(found[0], kind=kind)
        assert np.array_equal(sentence_matrix(c, tuple(weights.sentence_features)), _reference_matrix(c)[:, columns])


def test_zscore_is_what_np_std_and_np_mean_gave() -> None:
    rng = np.random.default_rng(11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf - inf, as np.std meets it too
        for trial in range(3000):
            n = int(rng.integers(1, 1200))
            values = [
                rng.normal(size=n),
                rng.random(n) * 30,
                rng.integers(0, 3, n) * rng.random(),  # ties, and all equal
                rng.normal(size=n) * 1e-3 + 0.5,
                rng.normal(size=n) * 1e30,
            ][trial % 5].astype(np.float32)
            if trial % 37 == 0:
                values[rng.integers(0, n)] = [np.nan, np.inf, -np.inf][trial % 3]
            got, want = zscore(values), _zscore_calls(values)
            assert np.array_equal(got, want, equal_nan=True) and got.dtype == want.dtype
    for other in (np.arange(5), np.arange(6, dtype=np.float64) / 7, np.zeros(0, np.float32)):
        assert np.array_equal(zscore(other), _zscore_calls(other))


def test_candidates_read_what_the_separate_lookups_gave(library: Library, found: list[Candidates]) -> None:
    """The bigram shares on first read, a name's presence from the question's own BM25 block, and the library's
    lexical top from postings shared with that block: each as computed apart before."""
    bm25 = library.data.paragraph_bm25
    for question, c in zip(QUESTIONS, found):
        text = library.reading_of(question)
        want = library.scorer.inputs.pair_share(question_pairs(text), c.sentence_rows)
        fresh = library.candidates(text)
        assert fresh is not None and callable(fresh.bigram)  # not computed until read
        assert np.array_equal(fresh.sentence_bigram, want) and fresh.bigram is fresh.sentence_bigram
        assert np.array_equal(c.sentence_bigram, want)
        rows = c.paragraph_rows
        assert np.array_equal(library.scorer.names(text, rows)[0], c.paragraph_names)
        ids, _ = bm25.query_terms(text)
        assert np.array_equal(bm25.scores(ids), bm25.scores(ids, postings=bm25.postings(ids)))
        assert np.array_equal(bm25.block(ids, rows), bm25.block(ids, rows, bm25.postings(ids)))
    some = library.candidates(library.reading_of(QUESTIONS[0]))
    assert some is not None
    again = pickle.loads(pickle.dumps(some))  # training's caches: the shares go computed, not the index
    assert not callable(again.bigram) and np.array_equal(again.sentence_bigram, some.sentence_bigram)
    old = vars(some) | {"sentence_bigram": some.sentence_bigram}  # pickled before the shares were lazy
    del old["bigram"]
    restored = Candidates.__new__(Candidates)
    restored.__setstate__(old)
    assert np.array_equal(restored.sentence_bigram, some.sentence_bigram)


def test_postings_group_max_and_decision_are_what_they_were(library: Library, found: list[Candidates]) -> None:
    """A few columns' postings joined from slices (not gathered through `spans`), a question's term ids and IDFs
    made in one array each, group_max's fill only where a
    group needs it, and the two decision probabilities from one standardisation: each as before."""
    rng = np.random.default_rng(5)
    for bm25 in (library.data.paragraph_bm25, library.data.sentence_bm25):
        indptr, indices, data = bm25._columns
        for size in [0, 1, 2, 5, 16, 17, 30] * 20:
            ids = rng.choice(len(bm25.vocab), size=min(size, len(bm25.vocab)), replace=False).astype(np.int64)
            take = spans(indptr[ids], indptr[ids + 1])
            want = (indices[take].astype(np.int64), np.repeat(np.arange(len(ids)), np.diff(indptr)[ids]), data[take])
            assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(bm25.postings(ids), want))
        vocab = list(bm25.vocab)
        for size in [0, 1, 3, 8, 20] * 20:  # a question's terms: some twice, some the library never uses
            terms = [vocab[i] for i in rng.integers(0, len(vocab), size)] + ["zzqx", "qxzz"][: size % 3]
            terms += terms[: size // 2]
            got, old = bm25.query_ids(terms), bm25._query_ids_by_arrays(terms)
            assert all(np.array_equal(a, b) and a.dtype == b.dtype and a.shape == b.shape for a, b in zip(got, old))
    for trial in range(300):
        m, n = int(rng.integers(0, 30)), int(rng.integers(1, 10))
        values = rng.normal(size=m).astype(np.float32)
        if trial % 4 == 0 and m:
            values[rng.integers(0, m)] = [np.nan, np.inf, -np.inf, 0.0][trial % 16 // 4]
        groups = rng.integers(0, n, m)
        want = np.full(n, -np.inf, dtype=np.float32)
        np.maximum.at(want, groups, values)
        want[~np.isfinite(want)] = float(values.min()) if m else 0.0
        assert np.array_equal(group_max(values, groups, n), want, equal_nan=True)
    weights = library.weights
    assert weights.answer_coef and weights.related_coef, "the shipped weights fit both"
    for c in found:
        features = answer_features(c, rank(c, weights))
        want_pair = (answer_probability(features, weights), related_probability(features, weights))
        assert decision_probabilities(features, weights) == want_pair


def test_best_sentence_per_paragraph_is_what_the_loop_left() -> None:
    rng = np.random.default_rng(7)
    for trial in range(300):
        m, n = int(rng.integers(1, 40)), int(rng.integers(1, 12))
        scores = rng.integers(-3, 4, m).astype(np.float32)  # few values: many ties
        if trial % 5 == 0:
            scores[rng.integers(0, m)] = np.nan
        groups = np.sort(rng.integers(0, n, m)) if trial % 2 else rng.integers(0, n, m)  # some groups empty
        assert np.array_equal(best_in_group(scores, groups, n), _reference_best(scores, groups, n))


def test_ranking_and_quotes_match_the_loops(library: Library, found: list[Candidates]) -> None:
    for c in found:
        r = rank(c, library.weights)
        assert np.array_equal(
            r.best_sentence, _reference_best(r.sentence_score, c.sentence_paragraph, len(r.best_sentence))
        )
        for para_pos in r.paragraph_order[:3]:
            best = int(r.best_sentence[para_pos])
            paragraph = library.rows.paragraph(int(c.paragraph_rows[para_pos]))
            for ratio in (0.0, 0.5, 0.9):
                assert quote_text(paragraph, c, r, best, ratio) == _reference_quote(paragraph, c, r, best, ratio)


def _reference_quote(paragraph, c: Candidates, r, best: int, ratio: float) -> str:  # type: ignore[no-untyped-def]
    first = last = int(c.sentence_position[best])
    same = np.flatnonzero(c.sentence_paragraph == c.sentence_paragraph[best])
    probability = {int(c.sentence_position[i]): float(sigmoid(r.sentence_score[i])) for i in same}
    for candidate in sorted((first - 1, first + 1), key=lambda i: -probability.get(i, -1.0)):
        if probability.get(candidate, -1.0) >= ratio * probability[first]:
            lo, hi = min(first, candidate), max(last, candidate)
            if len(paragraph.span_text(lo, hi)) <= MAX_QUOTE_CHARS:
                first, last = lo, hi
                break
    text = paragraph.span_text(first, last)
    if len(text) > MAX_QUOTE_CHARS:
        cut = text.rfind(" ", 0, MAX_QUOTE_CHARS)
        text = text[: cut if cut > 0 else MAX_QUOTE_CHARS].rstrip(" ,;:")
    return text


def test_sigmoid_clips_as_np_clip_did() -> None:
    values = np.array([-1e9, -40.5, -40.0, -3.25, 0.0, 2.5, 40.0, 41.0, 1e9, np.nan], dtype=np.float32)
    for dtype in (np.float32, np.float64):
        x = values.astype(dtype)
        old = 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))
        assert np.array_equal(sigmoid(x), old, equal_nan=True)
        for v in x:  # numpy scalars and Python floats keep their type, as with np.clip
            assert type(sigmoid(v)) is type(1.0 / (1.0 + np.exp(-np.clip(v, -40.0, 40.0))))
            assert np.array_equal(
                sigmoid(float(v)), 1.0 / (1.0 + np.exp(-np.clip(float(v), -40.0, 40.0))), equal_nan=True
            )


def test_candidate_sentences_and_owners_match_the_loops(library: Library, found: list[Candidates]) -> None:
    layout = library.rows
    for c in found:
        rows = c.paragraph_rows
        old_rows = np.concatenate([np.asarray(layout.para_sentences[int(r)], dtype=np.int64) for r in rows])
        position = {int(r): i for i, r in enumerate(rows)}
        assert np.array_equal(c.sentence_rows, old_rows) and c.sentence_rows.dtype == np.int64
        assert np.array_equal(c.sentence_paragraph, [position[int(p)] for p in layout.sent_para[old_rows]])
    assert len(layout.sentence_rows(np.zeros(0, dtype=np.int64))) == 0


def test_sorted_unique_is_np_unique() -> None:
    rng = np.random.default_rng(3)
    for dtype in (np.int64, np.uint64):
        for size in (0, 1, 2, 5, 100):
            values = rng.integers(0, 20, size).astype(dtype)
            got, want = sorted_unique(values), np.unique(values)
            assert np.array_equal(got, want) and got.dtype == want.dtype


def test_recent_readings_are_kept_and_bounded() -> None:
    calls: list[str] = []

    def read(question: str) -> str:
        calls.append(question)
        return question.upper()

    readings = RecentReadings(size=3)
    assert [readings.get(q, read) for q in "abca"] == ["A", "B", "C", "A"]
    assert calls == ["a", "b", "c"]  # "a" was kept
    readings.get("d", read)
    readings.get("a", read)  # "a", the oldest, went to make room for "d"
    assert calls == ["a", "b", "c", "d", "a"]
    threads = [threading.Thread(target=lambda: [readings.get(str(i), read) for i in range(200)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(readings._kept) == 3


def test_reading_of_is_the_normal_form(library: Library) -> None:
    question = "hey bot, how many White Helmets r still trapped?? 🙏"
    assert library.reading_of(question) == library._read(question) == library.reading_of(question)


def test_asking_does_not_import_the_build() -> None:
    """The CLI's start-up leaves the build's modules (the ONNX export, YAML, file locks) until a build needs them."""
    code = "import sys, bot.cli.commands; print(sorted(m for m in ('index.build', 'index.onnx_export', 'yaml') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    from index.build import build_index
    from index.live import LiveLibrary
    from index.stories import load_stories

    assert (index.build_index, index.LiveLibrary, index.load_stories) == (build_index, LiveLibrary, load_stories)
    with pytest.raises(AttributeError):
        index.no_such_name  # noqa: B018
