"""The cross-encoder in the engine: batched reading, its say on quotes and abstention, and its ONNX export in the index."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index import EngineOptions, Library, build_index
from index.cross_encoder import CrossEncoderFile, merged_model
from index.cross_encoder_export import export_cross_encoder
from index.cross_encoder_onnx import OnnxCrossEncoder
from index.embedder import Encoder
from index.models import AnswerStatus
from index.ranking import CrossEncoderWeights

QUESTIONS = ["How many White Helmets are still trapped?", "Where will they stay?", "Who rescued them?"]


class ScriptedCrossEncoder:
    """Stands in for OnnxCrossEncoder: records each call and scores pairs by a rule the test sets."""

    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.calls: list[list[tuple[str, str]]] = []

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        self.calls.append(list(pairs))
        if self.rule in ("yes", "no"):
            return np.full(len(pairs), 20.0 if self.rule == "yes" else -20.0, dtype=np.float32)
        # "last": each question's last read sentence (the ranker's Nth best) is the only one that answers
        last = [i + 1 == len(pairs) or pairs[i + 1][0] != q for i, (q, _) in enumerate(pairs)]
        return np.where(last, 20.0, -5.0).astype(np.float32)


def with_cross_encoder(library: Library, cross_encoder: ScriptedCrossEncoder, top_n: int = 6) -> Library:
    weights = library.weights.model_copy(update={"cross_encoder": CrossEncoderWeights(top_n=top_n, ranker_weight=0.0)})
    return Library(library.data, library.encoder, weights, cross_encoder)  # type: ignore[arg-type]


def test_a_batch_of_questions_is_read_in_one_call_with_each_questions_best_sentences(library: Library) -> None:
    cross_encoder = ScriptedCrossEncoder("yes")
    answers = with_cross_encoder(library, cross_encoder).ask_many(QUESTIONS)
    assert len(cross_encoder.calls) == 1
    asked = [q for q, _ in cross_encoder.calls[0]]
    assert [asked.count(library.reading_of(q)) for q in QUESTIONS] == [6, 6, 6]  # each in its normal form
    assert all(a.shows_quotes for a in answers)


def test_the_cross_encoders_choice_becomes_the_first_quote(library: Library) -> None:
    cross_encoder = ScriptedCrossEncoder("last")
    answer = with_cross_encoder(library, cross_encoder).ask(QUESTIONS[0])
    chosen = cross_encoder.calls[0][-1][1]  # the sentence the cross-encoder scored highest
    plain = library.ask(QUESTIONS[0])
    assert chosen not in plain.quotes[0].text  # the ranker alone quotes something else first
    assert chosen in answer.quotes[0].text


def test_the_cross_encoder_declines_what_it_reads_as_unanswered(library: Library) -> None:
    assert library.ask(QUESTIONS[0]).shows_quotes  # without the cross-encoder it quotes
    answer = with_cross_encoder(library, ScriptedCrossEncoder("no")).ask(QUESTIONS[0])
    assert answer.status is AnswerStatus.NOT_COVERED and not answer.quotes


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cross-encoder file with random (non-zero) LoRA deltas and head: what the export must carry over exactly."""
    import torch

    from training import cross_encoder

    torch.manual_seed(5)  # LoRA's A matrices and the pooler start from torch's global generator
    args = cross_encoder.parser().parse_args(["--squad", "unused", "--rank", "4"])
    ce = cross_encoder.lora_model(args)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for name, parameter in ce[0].model.named_parameters():
            if "lora_B" in name or "classifier" in name:
                scale = 0.5 if "classifier" in name else 0.05  # a head large enough that the pairs score apart
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale)
    path = tmp_path_factory.mktemp("cross_encoder") / "tiny-cross-encoder.npz"
    cross_encoder.cross_encoder_file(ce, args, {}).write(path)
    return path


@pytest.mark.slow
def test_onnx_export_gives_the_torch_models_logits(tiny_cross_encoder: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoTokenizer

    from index.embedder import fingerprint, resolve_model

    folder = export_cross_encoder(tiny_cross_encoder, tmp_path / "export", "all-MiniLM-L6-v2", "test")
    pairs = [
        ("How many are trapped?", "About 800 White Helmets and their families remain trapped in southern Syria."),
        ("Who is it?", "No."),
        ("What do the White Helmets do?", "The group rescues people from the rubble of bombed buildings. " * 12),
    ]
    base = resolve_model("all-MiniLM-L6-v2")
    model = merged_model(CrossEncoderFile.read(tiny_cross_encoder), base)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    batch = tokenizer(
        [q for q, _ in pairs], [s for _, s in pairs], padding=True, truncation=True, max_length=128, return_tensors="pt"
    )
    with torch.inference_mode():
        expected = model(**batch).logits[:, 0].numpy()
    assert np.ptp(expected) > 0.05  # the pairs score apart: a constant output would pass any tolerance
    np.testing.assert_allclose(OnnxCrossEncoder(folder, "fp32").logits(pairs), expected, atol=1e-4)
    int8 = OnnxCrossEncoder(folder, "int8").logits(pairs)
    assert np.abs(int8 - expected).max() < 0.75
    assert fingerprint("all-MiniLM-L6-v2", "none")  # the base the cross-encoder names is the packaged model


@pytest.mark.slow
def test_build_exports_the_cross_encoder_and_the_library_uses_it(
    tiny_cross_encoder: Path, content_copy: Path, tmp_path: Path, encoder: Encoder
) -> None:
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, EngineOptions(cross_encoder=str(tiny_cross_encoder)), encoder=encoder)
    loaded = Library.load(index_dir, encoder=encoder)
    assert loaded.cross_encoder is not None and loaded.manifest.cross_encoder is not None
    assert loaded.manifest.cross_encoder.file == tiny_cross_encoder.name
    assert Library.load(index_dir, encoder=encoder, use_cross_encoder=False).cross_encoder is None
    assert loaded.ask(QUESTIONS[0]).status in (AnswerStatus.ANSWERED, AnswerStatus.CLOSEST, AnswerStatus.NOT_COVERED)
    report = build_index(content_copy, index_dir, EngineOptions(cross_encoder="none"), encoder=encoder)
    assert report.changed  # switching the cross-encoder off writes a build without it, reusing the vectors
    assert report.embedded == []
    assert Library.load(index_dir, encoder=encoder).cross_encoder is None


@pytest.fixture(scope="module")
def shipped_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> OnnxCrossEncoder:
    from index.cross_encoder import SHIPPED
    from index.cross_encoder_export import load_cross_encoder

    if not SHIPPED.is_file():
        pytest.fail(f"no cross-encoder ships in {SHIPPED}: train one with python -m training.cross_encoder")
    cross_encoder = load_cross_encoder("auto", cache=tmp_path_factory.mktemp("readers"))
    assert cross_encoder is not None
    return cross_encoder


@pytest.mark.slow
def test_the_shipped_cross_encoder_reads_what_the_white_helmets_do_as_the_answer(
    library: Library, shipped_cross_encoder: OnnxCrossEncoder
) -> None:
    """Issue 12's first example: ¶2 says what they do; the ranker alone quotes ¶4 (they will stay in Jordan).

    The cross-encoder scores ¶2's sentence above ¶4's and ¶1's. (With the fitted combination, which reads the ranker's best
    3 sentences and weighs the ranker twice, the engine still quotes ¶4 here: ¶2 is the ranker's 6th sentence.)"""
    question = "What do the White Helmets do?"
    assert library.ask(question).quotes[0].paragraph == 4
    story = library.story(library.stories()[0].slug)
    first = {n: story.paragraphs[n - 1].sentence_text(0) for n in (1, 2, 4)}
    logits = dict(zip(first, shipped_cross_encoder.logits([(question, first[n]) for n in first])))
    assert logits[2] > logits[1] and logits[2] > logits[4], logits


@pytest.mark.slow
def test_the_shipped_cross_encoder_is_never_sure_of_what_the_story_does_not_say(
    library: Library, shipped_cross_encoder: OnnxCrossEncoder
) -> None:
    with_it = Library(library.data, library.encoder, cross_encoder=shipped_cross_encoder)
    assert with_it.ask("Who painted the Mona Lisa?").status is AnswerStatus.NOT_COVERED
    # on the story's subject but not in it: at most the closest passage under a hedge, never a confident answer
    assert with_it.ask("How many White Helmets were killed?").status in (AnswerStatus.CLOSEST, AnswerStatus.NOT_COVERED)


def test_a_lora_file_that_is_not_a_cross_encoder_is_refused_naming_it(
    content_copy: Path, tmp_path: Path, encoder: Encoder
) -> None:
    """Issue 19 item 2: the embedder's adapter (or a cross-encoder without its head) used as CROSS_ENCODER_MODEL was built with,
    its logit then coming from a classification head initialised at random."""
    from index.adapter import SHIPPED as EMBEDDER_ADAPTER
    from index.errors import CrossEncoderError

    with pytest.raises(CrossEncoderError, match="not a cross-encoder") as refused:
        CrossEncoderFile.read(EMBEDDER_ADAPTER)
    assert str(EMBEDDER_ADAPTER) in str(refused.value) and "CROSS_ENCODER_MODEL" in str(refused.value)
    with pytest.raises(CrossEncoderError, match=re.escape(EMBEDDER_ADAPTER.name)):
        build_index(
            content_copy, tmp_path / "index", EngineOptions(cross_encoder=str(EMBEDDER_ADAPTER)), encoder=encoder
        )
    assert not (tmp_path / "index").exists() or not list((tmp_path / "index").glob("build-*"))

    headless = tmp_path / "headless.npz"
    lora = {"bert.encoder.layer.0.attention.self.query": (np.ones((2, 384)), np.zeros((384, 2)))}
    meta = {"rank": 2, "alpha": 2.0, "base": "x", "max_length": 128}
    CrossEncoderFile(meta, lora, {"bert.pooler.dense.bias": np.zeros(384)}).write(headless)
    with pytest.raises(CrossEncoderError, match=r"full:classifier\.weight") as refused:
        CrossEncoderFile.read(headless)
    assert str(headless) in str(refused.value)


def test_weights_and_manifests_written_before_the_rename_still_load() -> None:
    """Until the rename, the cross-encoder's section of index/weights.json and its manifest field were `reader`:
    files written then load with it, and what is written now names it `cross_encoder`."""
    from index.manifest import Manifest
    from index.ranking import Weights

    old_weights = Weights.model_validate({"reader": {"top_n": 3}})
    assert old_weights.cross_encoder is not None and old_weights.cross_encoder.top_n == 3
    assert "cross_encoder" in old_weights.model_dump() and "reader" not in old_weights.model_dump()
    record = {"file": "x.npz", "fingerprint": "abc", "dir": "models/reader-abc", "quantization": "int8"}
    fields = {
        "format_version": 1,
        "model": "m",
        "backend": "onnx",
        "dimension": 384,
        "content_dir": "content",
        "files": {},
    }
    old_manifest = Manifest.model_validate(
        {**fields, "built_at": "2026-01-01T00:00:00Z", "stories": [], "reader": record}
    )
    assert old_manifest.cross_encoder is not None and old_manifest.cross_encoder.fingerprint == "abc"
    assert '"cross_encoder"' in old_manifest.model_dump_json() and '"reader"' not in old_manifest.model_dump_json()
