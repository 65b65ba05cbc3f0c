"""The vectors of `benchmarks.perf_pgvector`: real SQuAD text embedded by the engine's own int8 export, cached.

Real text is what recall depends on (synthetic clusters are kinder, docs/scaling.md). SQuAD v1.1 train has about
19,000 paragraphs and 92,000 sentences: the first 100,000 of them (sentences first, then paragraphs) are real;
past that, each further vector is a real one moved by noise and renormalised (cosine about 0.85 to its origin), so
a million keeps real text's neighbourhoods without a million sentences to embed. The figures say how many are real.
Questions are SQuAD's own, from the same articles, so a question's neighbours are real answers.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from index.embedder import DEFAULT_MODEL, fingerprint
from training.data import read_squad, squad_article

NOISE = 0.035  # per-dimension sigma of the noise moved copies get: cosine to the original about 0.85


def squad_texts(squad: Path, limit: int) -> tuple[list[str], list[str]]:
    """(up to `limit` texts, sentences first, then paragraphs; every question of the same articles)."""
    sentences: list[str] = []
    paragraphs: list[str] = []
    questions: list[str] = []
    for raw in read_squad(squad):
        article = squad_article(raw)
        for paragraph in article.story.paragraphs:
            paragraphs.append(paragraph.text)
            sentences.extend(paragraph.sentence_text(i) for i in range(len(paragraph.sentences)))
        questions.extend(q.question for q in article.questions)
        if len(sentences) >= limit:
            break
    return (sentences + paragraphs)[:limit], questions


def real_vectors(squad: Path, cache: Path, limit: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(vectors of up to `limit` real texts, `queries` question vectors), embedded once and kept in `cache`."""
    model_id = fingerprint(DEFAULT_MODEL)
    stem = cache / f"pgvector-bench-{model_id[:12]}-{limit}"
    if stem.with_suffix(".npz").exists():
        with np.load(stem.with_suffix(".npz")) as saved:
            if len(saved["questions"]) >= queries:
                return saved["texts"], saved["questions"][:queries]
    from index.onnx_encoder import OnnxEncoder
    from index.onnx_export import ensure_export

    texts, asked = squad_texts(squad, limit)
    picked = np.random.default_rng(7).choice(len(asked), size=min(queries, len(asked)), replace=False)
    export = ensure_export(DEFAULT_MODEL, cache / "models" / model_id, "int8", model_id=model_id)
    encoder = OnnxEncoder(export, "int8", threads=1, workers=2)
    started = time.perf_counter()
    vectors = np.vstack([encoder.encode(texts[i : i + 512]) for i in range(0, len(texts), 512)])
    questions = encoder.encode([asked[i] for i in picked])
    print(f"embedded {len(texts):,} SQuAD texts and {len(picked)} questions in {time.perf_counter() - started:.0f} s")
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(stem.with_suffix(".npz"), texts=vectors, questions=questions)
    return vectors, questions


def grown(real: np.ndarray, n: int, seed: int = 3) -> np.ndarray:
    """`n` unit vectors: every real one, then moved copies of real ones (see the module docstring)."""
    if n <= len(real):
        return np.ascontiguousarray(real[:n], dtype=np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    out[: len(real)] = real
    for start in range(len(real), n, 100_000):
        stop = min(n, start + 100_000)
        base = real[rng.integers(0, len(real), size=stop - start)]
        moved = base + rng.standard_normal(base.shape, dtype=np.float32) * NOISE
        out[start:stop] = moved / np.linalg.norm(moved, axis=1, keepdims=True)
    return out
