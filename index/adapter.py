"""A LoRA adapter for the embedding model: small low-rank weight deltas learned on question -> answer pairs.

The packaged all-MiniLM-L6-v2 was trained to match similar sentences, not questions to the sentence that
answers them. `training/adapter.py` learns rank-8 deltas (peft's LoRA layers) for the attention query/value and the dense layers
on SQuAD (never the dev article) and writes them to one small `.npz`; a build merges them into the model's
weights (W += scale * B @ A) before the ONNX export, so serving costs nothing extra and needs no torch.

File layout: for each adapted `nn.Linear`, `<module name>.A` (r x in) and `<module name>.B` (out x r), plus
`__meta__`, a JSON string with `rank`, `alpha`, `base` (the fingerprint of the model it was trained on) and how
it was trained. This module imports torch only inside `merge_into`: only the build path calls it; the torch-free
export (`index.bert_graph`) adds the same `deltas` to the weights in numpy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import AdapterError
from .weights_file import META_KEY, save_weights

SHIPPED = Path(__file__).with_name("adapters") / "all-MiniLM-L6-v2-squad-qa.npz"


def read_adapter(path: Path) -> tuple[dict[str, Any], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """The adapter's metadata and its (A, B) pairs by module name."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            meta = json.loads(str(saved[META_KEY]))
            names = sorted({key.rsplit(".", 1)[0] for key in saved.files if key != META_KEY})
            pairs = {name: (saved[f"{name}.A"], saved[f"{name}.B"]) for name in names}
    except (OSError, ValueError, KeyError) as exc:
        raise AdapterError(f"cannot read the model adapter {path} ({exc}); rebuild it with training.adapter") from exc
    return meta, pairs


def write_adapter(path: Path, meta: dict[str, Any], pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    arrays = {f"{name}.{part}": m for name, (a, b) in pairs.items() for part, m in (("A", a), ("B", b))}
    save_weights(path, meta, arrays)


def deltas(path: Path, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Each adapted layer's weight delta (alpha / rank * B @ A, float32) by layer name, checked against `shapes`
    (each layer's weight shape, out x in): the one merge rule the torch and the torch-free exports share."""
    meta, pairs = read_adapter(path)
    scale = np.float32(float(meta["alpha"]) / float(meta["rank"]))
    missing = [name for name in pairs if name not in shapes]
    if missing:
        raise AdapterError(f"adapter {path} does not fit this model: no layer {missing[0]!r}")
    out = {}
    for name, (a, b) in pairs.items():
        if tuple(shapes[name]) != (b.shape[0], a.shape[1]):
            raise AdapterError(
                f"adapter {path} does not fit this model: layer {name!r} has shape {tuple(shapes[name])}"
            )
        out[name] = (b.astype(np.float32) @ a.astype(np.float32)) * scale
    return out


def merge_into(module: Any, path: Path) -> int:
    """Add the adapter's deltas to the weights of `module` (a transformers model) in place; returns layers merged."""
    import torch

    layers = dict(module.named_modules())
    shapes = {
        name: tuple(layer.weight.shape) for name, layer in layers.items() if getattr(layer, "weight", None) is not None
    }
    merged = deltas(path, shapes)
    with torch.no_grad():
        for name, delta in merged.items():
            weight = layers[name].weight
            weight.add_(torch.from_numpy(delta).to(weight.dtype))
    return len(merged)
