"""A LoRA adapter for the embedding model: small low-rank weight deltas learned on question -> answer pairs.

The packaged all-MiniLM-L6-v2 was trained to match similar sentences, not questions to the sentence that
answers them. `training/adapter.py` learns rank-8 deltas (peft's LoRA layers) for the attention query/value and the dense layers
on SQuAD (never the dev article) and writes them to one small `.npz`; a build merges them into the model's
weights (W += scale * B @ A) before the ONNX export, so serving costs nothing extra and needs no torch.

File layout: for each adapted `nn.Linear`, `<module name>.A` (r x in) and `<module name>.B` (out x r), plus
`__meta__`, a JSON string with `rank`, `alpha`, `base` (the fingerprint of the model it was trained on) and how
it was trained. This module imports torch only inside `merge_into`: only the build path calls it.
"""

from __future__ import annotations

import json
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


def merge_into(module: Any, path: Path) -> int:
    """Add the adapter's deltas to the weights of `module` (a transformers model) in place; returns layers merged."""
    import torch

    meta, pairs = read_adapter(path)
    scale = float(meta["alpha"]) / float(meta["rank"])
    layers = dict(module.named_modules())
    missing = [name for name in pairs if name not in layers]
    if missing:
        raise AdapterError(f"adapter {path} does not fit this model: no layer {missing[0]!r}")
    with torch.no_grad():
        for name, (a, b) in pairs.items():
            weight = layers[name].weight
            if tuple(weight.shape) != (b.shape[0], a.shape[1]):
                raise AdapterError(
                    f"adapter {path} does not fit this model: layer {name!r} has shape {tuple(weight.shape)}"
                )
            delta = torch.from_numpy(b) @ torch.from_numpy(a)
            weight.add_(delta.to(weight.dtype) * scale)
    return len(pairs)
