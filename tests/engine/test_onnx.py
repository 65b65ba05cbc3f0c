"""The ONNX serving path: same vectors as sentence-transformers, no torch at query time, no mixed encoders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import EngineOptions, IndexMismatch, IndexMissing, Library, build_index
from index.adapter import SHIPPED
from index.embedder import DEFAULT_MODEL, Encoder, fingerprint
from index.onnx_encoder import OnnxEncoder
from index.onnx_export import ensure_export
from index.store import read_build, resolve_build

from ..conftest import ROOT, SEED_SLUG

# Stated tolerances (cosine between an ONNX embedding and sentence-transformers' on the same text).
# fp32 is the same arithmetic in another runtime; int8 per-channel dynamic quantisation measured a minimum of
# 0.978 (on a one-word text; 0.994 on average) over the seed story and SQuAD questions.
FP32_MIN_COSINE = 0.99999
INT8_MIN_COSINE = 0.97
INT8_MEAN_COSINE = 0.99


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory: pytest.TempPathFactory, built_index: Path) -> Path:
    """An export of the packaged model with both fp32 and int8 files (linked from the session index's)."""
    target = tmp_path_factory.mktemp("export") / "model"
    ensure_export(DEFAULT_MODEL, target, "fp32")
    return ensure_export(DEFAULT_MODEL, target, "int8")


@pytest.fixture(scope="session")
def texts(library: Library) -> list[str]:
    story = library.data.stories[0]
    sentences = [p.sentence_text(i) for p in story.paragraphs for i in range(len(p.sentences))]
    return [
        *[p.text for p in story.paragraphs],
        *sentences,
        "How many White Helmets are still trapped in Syria?",
        "who led the evacuation",
        "hi",
        "Ünïcödé café naïve — “quoted” 115,000 lives?",
        " ".join([story.paragraphs[0].text] * 12),  # past max_seq_length: truncated the same way
    ]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


def test_fp32_export_matches_sentence_transformers(export_dir: Path, encoder: Encoder, texts: list[str]) -> None:
    onnx = OnnxEncoder(export_dir, "fp32").encode(texts, batch_size=4)
    torch = encoder.encode(texts)
    assert onnx.shape == torch.shape and onnx.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    assert _cosines(onnx, torch).min() >= FP32_MIN_COSINE
    assert np.abs(onnx - torch).max() < 1e-4


def test_int8_export_stays_close(export_dir: Path, encoder: Encoder, texts: list[str]) -> None:
    cosines = _cosines(OnnxEncoder(export_dir, "int8").encode(texts), encoder.encode(texts))
    assert cosines.min() >= INT8_MIN_COSINE and cosines.mean() >= INT8_MEAN_COSINE


def test_batching_changes_fp32_vectors_not_at_all_and_int8_within_its_tolerance(
    export_dir: Path, texts: list[str]
) -> None:
    """int8 activations are quantised with one scale per batch, so batch-mates nudge a row (documented)."""
    for quantization, floor in (("fp32", FP32_MIN_COSINE), ("int8", INT8_MIN_COSINE)):
        enc = OnnxEncoder(export_dir, quantization)
        together = enc.encode(texts, batch_size=64)
        alone = np.vstack([enc.encode([t]) for t in texts])
        assert _cosines(together, alone).min() >= floor, quantization
        assert np.array_equal(alone, np.vstack([enc.encode([t]) for t in texts]))  # deterministic alone


def test_a_lone_text_takes_the_short_path_to_the_same_vector(export_dir: Path, texts: list[str]) -> None:
    """One text skips sorting and padding; a batch of two copies of it (same length, same int8 scales) does not."""
    for quantization in ("fp32", "int8"):
        enc = OnnxEncoder(export_dir, quantization)
        for text in texts[:5]:
            alone, pair = enc.encode([text]), enc.encode([text, text])
            assert alone.shape == (1, enc.dimension) and alone.dtype == np.float32
            np.testing.assert_allclose(alone[0], pair[0], atol=1e-6)
            assert abs(float(np.linalg.norm(alone)) - 1.0) < 1e-5


def test_default_build_serves_with_onnx_and_never_imports_torch(tmp_path: Path, content_copy: Path) -> None:
    """The CLI's path: build (int8 by default) and ask in a fresh process that must not import torch."""
    index_dir = tmp_path / "index"
    report = build_index(content_copy, index_dir)
    manifest = read_build(index_dir).manifest
    assert report.ok and manifest.backend == "onnx" and manifest.quantization == "int8"
    assert manifest.model_adapter == SHIPPED.name  # the shipped adapter is merged before the export
    assert manifest.model_fingerprint == fingerprint(DEFAULT_MODEL) != fingerprint(DEFAULT_MODEL, "none")
    script = (
        "import sys, json; from index import Library; "
        f"lib = Library.load({str(index_dir)!r}); "
        "a = lib.ask('How many White Helmets are still trapped in Syria?'); "
        "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'discord', 'sklearn', 'pysbd', 'scipy') "
        "if m in sys.modules); "
        "print(json.dumps({'paragraph': a.quotes[0].paragraph, 'heavy': heavy, 'backend': lib.encoder.backend}))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"paragraph": 1, "heavy": [], "backend": "onnx"}
    # The command a reader's first answer comes from: `-X importtime` lists every module it imported.
    command = [sys.executable, "-X", "importtime", "-m", "bot.cli", "ask", "--index", str(index_dir), "Who died?"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "onnxruntime" in imported and not imported & {"torch", "sentence_transformers", "discord", "scipy"}


def test_query_encoder_must_match_the_index(tmp_path: Path, built_index: Path, export_dir: Path) -> None:
    int8 = OnnxEncoder(export_dir, "int8")
    with pytest.raises(IndexMismatch, match="fp32 embeddings but questions would be encoded in int8"):
        Library.load(built_index, encoder=int8)
    fp32 = OnnxEncoder(export_dir, "fp32")
    assert Library.load(built_index, encoder=fp32).ask("How many White Helmets are still trapped?").shows_quotes

    class OtherModel(Encoder):
        name, dimension, fingerprint = "some-other-model", 384, "0" * 24

        def encode(self, texts, *, batch_size: int = 64, progress: bool = False) -> np.ndarray:  # type: ignore[no-untyped-def]
            return np.zeros((len(texts), 384), dtype=np.float32)

    with pytest.raises(IndexMismatch, match="embedded with model 'all-MiniLM-L6-v2'"):
        Library.load(built_index, encoder=OtherModel())  # type: ignore[arg-type]


def test_missing_export_says_rebuild(tmp_path: Path, content_copy: Path, encoder: Encoder) -> None:
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, encoder=encoder)
    manifest = read_build(index_dir).manifest
    export = (resolve_build(index_dir) / str(manifest.encoder_dir)).resolve()
    (export / "model.onnx").unlink()
    with pytest.raises(IndexMissing, match="rebuild"):
        Library.load(index_dir)
    assert build_index(content_copy, index_dir, encoder=encoder).changed is False  # repairs the export in place
    assert Library.load(index_dir).ask("How many White Helmets are still trapped?").shows_quotes


def test_changing_quantization_re_embeds(tmp_path: Path, content_copy: Path) -> None:
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, EngineOptions(quantization="int8"))
    report = build_index(content_copy, index_dir, EngineOptions(quantization="fp32"))
    assert report.changed and report.embedded == [SEED_SLUG]
    assert read_build(index_dir).manifest.quantization == "fp32"
