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
from index.onnx_export import EXPORT_FORMAT, ensure_export
from index.store import read_build, resolve_build

from ..conftest import ROOT, SEED_SLUG

# Stated tolerances (cosine between an ONNX embedding and sentence-transformers' on the same text).
# fp32 is the same arithmetic in another runtime. int8 with weights per column and activations per token
# (index.int8_graph) measured a minimum of 0.994 and a mean of 0.997 on 600 SQuAD questions and 100 paragraphs
# against fp32; onnxruntime's one scale per batch measured 0.988 and 0.994 (0.978 on a one-word text).
FP32_MIN_COSINE = 0.99999
INT8_MIN_COSINE = 0.99
INT8_MEAN_COSINE = 0.995


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


def test_int8_vectors_are_the_same_bit_for_bit_alone_or_in_a_batch(export_dir: Path, texts: list[str]) -> None:
    """int8 scales each token on its own (index.int8_graph) and batches hold one token length, so batch-mates
    change nothing: what lets `ask --batch` encode questions together. (fp32 sums a batch of one on another path
    in onnxruntime: the same within its tolerance, not bit for bit.)"""
    questions = [f"How many White Helmets were trapped in Syria in week {n}?" for n in range(12)]
    mixed = [*texts, *questions, "who led it?", "who led them?", "when?"]
    enc = OnnxEncoder(export_dir, "int8")
    assert enc.batch_invariant
    alone = np.vstack([enc.encode([t]) for t in mixed])
    for size in (64, 5, 2):
        assert np.array_equal(enc.encode(mixed, batch_size=size), alone), size
    fp32 = OnnxEncoder(export_dir, "fp32")
    assert not fp32.batch_invariant
    together = fp32.encode(mixed, batch_size=64)
    assert _cosines(together, np.vstack([fp32.encode([t]) for t in mixed])).min() >= FP32_MIN_COSINE


def test_an_export_of_format_1_is_not_batch_invariant(export_dir: Path, tmp_path: Path) -> None:
    """Format 1's int8 gave a whole batch one scale: such an export (an index built before) is still served, but
    its questions are encoded one at a time."""
    old = tmp_path / "old"
    old.mkdir()
    for path in export_dir.iterdir():
        (old / path.name).symlink_to(path.resolve())
    info = json.loads((export_dir / "encoder.json").read_text(encoding="utf-8"))
    (old / "encoder.json").unlink()
    (old / "encoder.json").write_text(json.dumps({**info, "format": 1}), encoding="utf-8")
    assert not OnnxEncoder(old, "int8").batch_invariant


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


def test_vectors_of_another_export_format_are_not_reused(tmp_path: Path, content_copy: Path) -> None:
    """A build whose vectors came from an older export (another int8 arithmetic) embeds every story again rather
    than mix its vectors with the new export's questions."""
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, EngineOptions(quantization="int8"))
    manifest_file = resolve_build(index_dir) / "manifest.json"
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    assert manifest["encoder_format"] == EXPORT_FORMAT
    manifest_file.write_text(json.dumps({**manifest, "encoder_format": EXPORT_FORMAT - 1}), encoding="utf-8")
    report = build_index(content_copy, index_dir, EngineOptions(quantization="int8"))
    assert report.changed and report.embedded == [SEED_SLUG]
    assert read_build(index_dir).manifest.encoder_format == EXPORT_FORMAT
    assert build_index(content_copy, index_dir, EngineOptions(quantization="int8")).embedded == []


def test_changing_quantization_re_embeds(tmp_path: Path, content_copy: Path) -> None:
    index_dir = tmp_path / "index"
    build_index(content_copy, index_dir, EngineOptions(quantization="int8"))
    report = build_index(content_copy, index_dir, EngineOptions(quantization="fp32"))
    assert report.changed and report.embedded == [SEED_SLUG]
    assert read_build(index_dir).manifest.quantization == "fp32"
