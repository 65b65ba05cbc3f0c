"""The per-sentence inputs of the ranker are computed by the build, stored beside the vectors and mapped when serving:
the same figures the sentences give, no per-sentence work at load, damage refused, an older definition recomputed."""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import Encoder, IndexCorrupt, Library, build_index
from index.cues import CUE_NAMES, sentence_cues
from index.models import Paragraph, Sentence
from index.sentence_inputs import SentenceInputs, pair_codes, question_pairs
from index.store import SENTENCE_INPUTS, read_build, resolve_build, sentence_texts
from index.tokens import tokenize

from ..conftest import CONTENT

QUESTIONS = [
    "How many White Helmets are still trapped in Syria?",
    "rescue workers trapped in Syria",
    "What did the British foreign secretary say?",
    "trapped trapped trapped",
    "zebra",
]


def _pair_share_by_sets(question: str, sentence: str) -> float:
    """The bigram feature as the engine computed it at load before: sets of adjacent term pairs."""
    pairs = set(itertools.pairwise(tokenize(question)))
    return len(pairs & set(itertools.pairwise(tokenize(sentence)))) / len(pairs) if pairs else 0.0


@pytest.fixture
def index_copy(tmp_path: Path, built_index: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(built_index, target, symlinks=True)
    return target


def test_the_build_stores_them_and_serving_maps_them(built_index: Path) -> None:
    data = read_build(built_index)
    inputs = data.sentence_inputs
    for array in (inputs.chars, inputs.cues, inputs.pair_starts, inputs.pairs):
        assert isinstance(array, np.memmap) and Path(array.filename or "") == data.path / SENTENCE_INPUTS
    texts = sentence_texts(data.stories)
    assert inputs.chars.tolist() == [len(t) for t in texts]
    assert np.array_equal(inputs.cues, np.array([sentence_cues(t) for t in texts]).reshape(-1, len(CUE_NAMES)))
    rows = np.arange(len(texts))[::-1]  # any order of rows, as candidates come
    for question in QUESTIONS:
        expected = [_pair_share_by_sets(question, texts[r]) for r in rows]
        assert np.allclose(inputs.pair_share(question_pairs(question), rows), expected)
    assert any(inputs.pair_share(question_pairs(QUESTIONS[1]), rows) > 0)  # the check above is not all zeros


def test_pair_codes_keep_order_and_are_the_same_in_every_process() -> None:
    assert pair_codes(["rescu", "worker"])[0] != pair_codes(["worker", "rescu"])[0]
    assert len(pair_codes(["a", "b", "a", "b"])) == 2  # (a, b) twice, (b, a) once: distinct pairs
    code = "from index.sentence_inputs import pair_codes; print(int(pair_codes(['rescu', 'worker'])[0]))"
    seen = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert seen == {str(int(pair_codes(["rescu", "worker"])[0]))}


def test_a_damaged_inputs_file_is_refused_naming_it(index_copy: Path, encoder: Encoder) -> None:
    path = resolve_build(index_copy) / SENTENCE_INPUTS
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(IndexCorrupt, match=SENTENCE_INPUTS) as caught:
        Library.load(index_copy, encoder=encoder)
    assert "newsroom-bot build" in str(caught.value)


def test_inputs_of_another_definition_are_computed_at_load_and_stored_by_the_next_build(
    index_copy: Path, encoder: Encoder, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    manifest_path = resolve_build(index_copy) / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["sentence_inputs"] = "made-by-older-code"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="index.store"):
        old = Library.load(index_copy, encoder=encoder)
    assert "another version" in caplog.text
    assert not isinstance(old.scorer.inputs.pairs, np.memmap)
    for question in QUESTIONS:
        assert old.ask(question) == library.ask(question)
    report = build_index(CONTENT, index_copy, encoder=encoder)
    assert report.changed and not report.embedded  # a new build, the vectors reused
    assert isinstance(Library.load(index_copy, encoder=encoder).scorer.inputs.pairs, np.memmap)


def test_inputs_of_no_sentences_fit() -> None:
    empty = SentenceInputs.of([])
    assert len(SentenceInputs.from_arrays(empty.arrays(), 0).pair_share(question_pairs("a question"), np.zeros(0))) == 0
    with pytest.raises(ValueError, match="do not fit 3 sentences"):
        SentenceInputs.from_arrays(empty.arrays(), 3)


def test_sentences_are_stored_as_pairs_and_read_in_either_shape() -> None:
    paragraph = Paragraph(number=1, text="One. Two.", sentences=(Sentence(0, 4), Sentence(start=5, end=9)))
    stored = paragraph.model_dump(mode="json")
    assert stored["sentences"] == [[0, 4], [5, 9]]
    older = {**stored, "sentences": [{"start": 0, "end": 4}, {"start": 5, "end": 9}]}
    assert Paragraph.model_validate(older) == Paragraph.model_validate(stored) == paragraph
    assert [paragraph.sentence_text(i) for i in range(2)] == ["One.", "Two."]
