"""What the ranker reads from each sentence besides its scores, computed once by the build and stored as arrays.

Per sentence: its length in characters, which cue patterns it matches (`cues.CUE_NAMES`: a figure, a date, a
name, ...) and its adjacent term pairs, for the share of a question's word pairs a sentence repeats
(`Candidates.sentence_bigram`). Computing these means tokenising every sentence and running nine regular
expressions over it; done at load, that was most of a library's load time and of each process's own memory (a set
of string pairs per sentence). So the build computes them (`SentenceInputs.of`), the store writes them beside the
vectors (`index.store`) and serving maps them read-only (`index.arrays`): loading costs no time or private memory
per sentence.

A term pair is stored as a 64-bit code (`pair_codes`): a hash of each term (blake2b, the same in every process and
on every machine, unlike Python's `hash`) combined in order, sorted within its sentence. Two different pairs share a
code with a chance of about 2^-64 per comparison.

`DEFINITION` names what these arrays are computed with (the cue patterns, the tokeniser's word lists, the pair
code): a build records it, and a build made by code that computed them otherwise is not trusted for them.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .arrays import sorted_unique, spans
from .cues import CUE_NAMES, CUE_PATTERNS, sentence_cues
from .tokens import CHAT_WORDS, STOPWORDS, tokenize

PAIR_CODE_VERSION = 1  # bump when `pair_codes` changes how it codes a pair
_ORDER = np.uint64(0x9E3779B97F4A7C15)  # odd: (a, b) and (b, a) get different codes
DEFINITION = hashlib.sha256(
    json.dumps([PAIR_CODE_VERSION, CUE_NAMES, CUE_PATTERNS, sorted(STOPWORDS), sorted(CHAT_WORDS.items())]).encode()
).hexdigest()[:16]


@functools.lru_cache(maxsize=1 << 16)  # a question's terms are mostly ones asked before
def _term_code(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=8).digest(), "little")


def pair_codes(terms: Sequence[str], known: dict[str, int] | None = None) -> np.ndarray:
    """The distinct codes of the adjacent pairs in `terms` (`tokenize`'s output), sorted (uint64).

    `known` caches term codes across calls (a build codes each distinct term once).
    """
    if len(terms) < 2:
        return np.zeros(0, dtype=np.uint64)
    cache = {} if known is None else known
    for term in terms:
        if term not in cache:
            cache[term] = _term_code(term)
    codes = np.array([cache[t] for t in terms], dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as a hash wants
        return sorted_unique(codes[:-1] * _ORDER + codes[1:])


@dataclass(frozen=True)
class SentenceInputs:
    """The per-sentence arrays, row r for sentence row r of the index (`rows.RowLayout`)."""

    chars: np.ndarray  # (n,) int32: characters in the sentence
    cues: np.ndarray  # (n, len(CUE_NAMES)) uint8: 1 where the sentence matches the cue
    pair_starts: np.ndarray  # (n + 1,) int64: sentence r's pair codes are pairs[pair_starts[r]:pair_starts[r + 1]]
    pairs: np.ndarray  # uint64, sorted within each sentence

    @classmethod
    def of(cls, texts: Sequence[str], terms: Sequence[Sequence[str]] | None = None) -> SentenceInputs:
        """The inputs of sentences `texts`; `terms`: their `tokenize` output, when the caller has it already."""
        terms = [tokenize(t) for t in texts] if terms is None else terms
        known: dict[str, int] = {}
        codes = [pair_codes(t, known) for t in terms]
        lengths = np.array([len(c) for c in codes], dtype=np.int64)
        return cls(
            chars=np.array([len(t) for t in texts], dtype=np.int32),
            cues=np.array([sentence_cues(t) for t in texts], dtype=np.uint8).reshape(len(texts), len(CUE_NAMES)),
            pair_starts=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            pairs=np.concatenate(codes) if codes else np.zeros(0, dtype=np.uint64),
        )

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], sentences: int) -> SentenceInputs:
        """The inputs from stored arrays (`arrays()`'s names), checked against the build's `sentences` count;
        ValueError names what does not fit."""
        try:
            inputs = cls(**{name: arrays[name] for name in cls.__dataclass_fields__})
        except KeyError as exc:
            raise ValueError(f"sentence inputs lack the array {exc}") from None
        starts = inputs.pair_starts
        if (
            inputs.chars.shape != (sentences,)
            or inputs.cues.shape != (sentences, len(CUE_NAMES))
            or starts.shape != (sentences + 1,)
            or inputs.pairs.ndim != 1
            or starts[0] != 0
            or starts[-1] != len(inputs.pairs)
            or bool(np.any(np.diff(starts) < 0))
        ):
            raise ValueError(f"sentence inputs do not fit {sentences} sentences")
        return inputs

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays by name, as a store writes them."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def pair_share(self, question_pairs: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each sentence of `rows`: the share of the question's distinct pairs (`pair_codes`) it holds."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(question_pairs) == 0 or len(rows) == 0:
            return np.zeros(len(rows), dtype=np.float32)
        pair_starts = np.asarray(self.pair_starts)  # a plain view: indexing an np.memmap runs Python code
        starts, ends = pair_starts[rows], pair_starts[rows + 1]
        pairs = np.asarray(self.pairs)[spans(starts, ends)]
        if len(question_pairs) <= 32:  # np.isin's own loop for a few values, without its overhead
            held = pairs == question_pairs[0]
            for code in question_pairs[1:]:
                held |= pairs == code
        else:
            held = np.isin(pairs, question_pairs)
        held_before = np.zeros(len(held) + 1, dtype=np.int64)  # pairs held before each position, the sentence's
        np.cumsum(held, out=held_before[1:])  # own counts are then two lookups apart (a sentence's codes are distinct)
        last = np.cumsum(ends - starts)
        held_in = held_before[last] - held_before[last - (ends - starts)]
        return (held_in / len(question_pairs)).astype(np.float32)


def question_pairs(question: str) -> np.ndarray:
    """The codes of the question's adjacent term pairs, for `SentenceInputs.pair_share`."""
    return pair_codes(tokenize(question))
