"""The shipped weights-file format: named arrays beside their JSON meta in one `.npz`, and the id of such a file.

Two shipped files use it: the embedder's adapter (`index.adapter`: LoRA pairs) and the cross-encoder (`index.cross_encoder`:
LoRA pairs and whole parameters). Each module reads its own array names; what they share is written here once: the
meta's key, the atomic write, and `weights_id`, which is what an index or an export made with the file is keyed by
(so a retrained file is never served from an old export).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

META_KEY = "__meta__"


def save_weights(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray], *, compressed: bool = False) -> None:
    """Shipped weights (the embedder adapter, the cross-encoder) as float32 arrays beside their JSON meta in one .npz,
    written to a temporary name and renamed, so whoever reads the file never sees half of it."""
    saved: dict[str, Any] = {META_KEY: np.array(json.dumps(meta, sort_keys=True))}
    saved.update({name: value.astype(np.float32) for name, value in arrays.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.npz")
    (np.savez_compressed if compressed else np.savez)(tmp, **saved)
    tmp.replace(path)


def weights_id(path: Path) -> str:
    """Part of a fingerprint: an index or export made with other weights (adapter or cross-encoder file) is not reused."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def cross_encoder_fingerprint(path: Path, base: str) -> str:
    """What a cross-encoder's export and the index built with it are known by: the cross-encoder file's `weights_id` and the
    fingerprint of the model it is merged into (`base`: `embedder.fingerprint(model, "none")`, no adapter)."""
    return f"{weights_id(path)}-{base[:8]}"
