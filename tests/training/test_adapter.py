"""The embedder's LoRA adapter: what training learns is what a build merges, and a bad adapter is a clear error."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from index.adapter import SHIPPED, AdapterError, merge_into, read_adapter, write_adapter
from index.embedder import DEFAULT_MODEL, ModelNotFound, fingerprint, load_sentence_transformer, resolve_adapter
from training.adapter import add_lora, batches, lora_pairs

TEXTS = ["How many White Helmets are still trapped in Syria?", "The evacuation happened on Sunday, July 22nd."]


def _embed(st: object) -> np.ndarray:
    return st.encode(TEXTS, normalize_embeddings=True)  # type: ignore[attr-defined]


def test_merged_adapter_embeds_like_the_trained_lora_layers(tmp_path: Path) -> None:
    """Train-time LoRA layers (W x + s B A x) and the build-time merge (W + s B A) give the same embeddings."""
    torch.manual_seed(0)
    trained = load_sentence_transformer(DEFAULT_MODEL, "none")
    plain = _embed(trained)
    layers = add_lora(trained[0].auto_model, rank=4, alpha=8)
    with torch.no_grad():
        for _, b in layers.values():
            b.normal_(0, 0.02)  # B starts at zero: give the layers something to add
    trained.eval()
    with_lora = _embed(trained)
    assert np.min(np.sum(with_lora * plain, axis=1)) < 0.999  # the deltas really change the embeddings
    pairs = lora_pairs(layers)
    path = tmp_path / "adapter.npz"
    write_adapter(path, {"rank": 4, "alpha": 8.0}, pairs)

    merged = load_sentence_transformer(DEFAULT_MODEL, str(path))
    assert np.allclose(_embed(merged), with_lora, atol=1e-5)
    meta, read = read_adapter(path)
    assert meta["rank"] == 4 and set(read) == set(pairs) and len(pairs) == 6 * 5  # query, value, 3 dense a layer


def test_adapter_that_does_not_fit_the_model_is_refused(tmp_path: Path) -> None:
    st = load_sentence_transformer(DEFAULT_MODEL, "none")
    a, b = np.zeros((2, 384), np.float32), np.zeros((384, 2), np.float32)
    unknown = tmp_path / "unknown.npz"
    write_adapter(unknown, {"rank": 2, "alpha": 2}, {"encoder.layer.9.attention.self.query": (a, b)})
    with pytest.raises(AdapterError, match="no layer"):
        merge_into(st[0].auto_model, unknown)
    wrong = tmp_path / "wrong.npz"
    write_adapter(wrong, {"rank": 2, "alpha": 2}, {"encoder.layer.0.intermediate.dense": (a, b)})
    with pytest.raises(AdapterError, match="shape"):
        merge_into(st[0].auto_model, wrong)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not an npz")
    with pytest.raises(ModelNotFound, match="MODEL_ADAPTER=none"):
        load_sentence_transformer(DEFAULT_MODEL, str(broken))


def test_which_adapter_a_model_gets(tmp_path: Path) -> None:
    assert SHIPPED.is_file(), "the shipped adapter is missing: python -m training.adapter rebuilds it"
    assert resolve_adapter(DEFAULT_MODEL) == SHIPPED
    assert resolve_adapter("sentence-transformers/all-MiniLM-L6-v2", "AUTO") == SHIPPED
    assert resolve_adapter(DEFAULT_MODEL, "none") is None
    assert resolve_adapter("/models/some-other-model") is None  # auto: only the model the adapter was trained on
    with pytest.raises(ModelNotFound, match="MODEL_ADAPTER"):
        resolve_adapter(DEFAULT_MODEL, str(tmp_path / "missing.npz"))


def test_the_adapter_is_part_of_the_model_fingerprint(tmp_path: Path) -> None:
    other = tmp_path / "other.npz"
    write_adapter(other, {"rank": 1, "alpha": 1}, {"x": (np.zeros((1, 2)), np.ones((2, 1)))})
    ids = {fingerprint(DEFAULT_MODEL, "none"), fingerprint(DEFAULT_MODEL), fingerprint(DEFAULT_MODEL, str(other))}
    assert len(ids) == 3


def test_training_batches_come_from_one_article_without_repeating_a_sentence() -> None:
    articles = [
        ([f"a{i}" for i in range(10)], [(f"qa{i}", i % 3) for i in range(12)]),
        ([f"b{i}" for i in range(10)], [(f"qb{i}", i) for i in range(10)]),
    ]
    plan = batches(articles, 4, random.Random(1))
    for batch in plan:
        assert len({s for _, s in batch}) == len(batch)
        assert len({s[0] for _, s in batch}) == 1
    assert sum(len(b) for b in plan) <= 22 and any(s.startswith("b") for b in plan for _, s in b)
