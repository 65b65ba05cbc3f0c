"""The cross-encoder: a model that reads a question and one sentence together and says whether it answers it.

The embedder compares a question and a sentence as two vectors made apart, and the ranker and abstention models
over its cosines and BM25 scores track word overlap; the cross-encoder attends across both texts, so "What is France a
region of?" beside "Normandy, a region in France" can score low although every word matches.

It is all-MiniLM-L6-v2 with a classification head (BERT's pooler + one logit), fine-tuned by `training.cross_encoder`
(LoRA, or every weight and then shrunk to low-rank deltas by `training.cross_encoder_ship`). The shipped file (`index/cross_encoders/*.npz`, a few MB) holds only what training changed:

- `lora:<module>.A` (r x in) and `lora:<module>.B` (out x r) for each adapted Linear, merged at build time as
  W += alpha / r * B @ A (float32, or float16 when `training.cross_encoder_ship` made them from a full fine-tune);
- `full:<parameter>` for parameters trained whole (the pooler and the classifier);
- `__meta__`, JSON: rank, alpha, base model fingerprint, max_length, how it was trained and what it measured.

A build merges it into the packaged MiniLM and exports the merged model to ONNX (`index.cross_encoder_export`); serving
runs that export with onnxruntime (`index.cross_encoder_onnx`) and imports no torch. This module imports
torch only inside `merged_model`, which only the build path and training call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CrossEncoderError
from .offline import hub_offline
from .weights_file import META_KEY, save_weights

LORA, FULL = "lora:", "full:"
# What makes a file a cross-encoder: the one-logit head it scores with (without it the logit would come from a head
# initialised at random) and the meta the merge needs. The embedder's adapter, also LoRA in an .npz, has neither.
HEAD = ("classifier.weight", "classifier.bias")
META_NEEDED = ("rank", "alpha", "base")
SHIPPED = Path(__file__).with_name("cross_encoders") / "minilm-l6-squad.npz"
CROSS_ENCODER_AUTO, CROSS_ENCODER_NONE = "auto", "none"


class CrossEncoderFile:
    """A cross-encoder artifact in memory: metadata, LoRA pairs by module name, and whole parameters by name."""

    def __init__(
        self,
        meta: dict[str, Any],
        lora: dict[str, tuple[np.ndarray, np.ndarray]],
        full: dict[str, np.ndarray],
    ) -> None:
        self.meta, self.lora, self.full = meta, lora, full

    @property
    def scale(self) -> float:
        return float(self.meta["alpha"]) / float(self.meta["rank"])

    @classmethod
    def read(cls, path: Path) -> CrossEncoderFile:
        try:
            with np.load(path, allow_pickle=False) as saved:
                meta = json.loads(str(saved[META_KEY]))
                modules = sorted({k[len(LORA) :].rsplit(".", 1)[0] for k in saved.files if k.startswith(LORA)})
                lora = {m: (_f32(saved[f"{LORA}{m}.A"]), _f32(saved[f"{LORA}{m}.B"])) for m in modules}
                full = {k[len(FULL) :]: _f32(saved[k]) for k in saved.files if k.startswith(FULL)}
        except (OSError, ValueError, KeyError) as exc:
            raise CrossEncoderError(
                f"cannot read the cross-encoder model {path} ({exc}); rebuild it with training.cross_encoder"
            ) from exc
        if problem := _not_a_cross_encoder(meta, lora, full):
            raise CrossEncoderError(
                f"{path} is not a cross-encoder model: {problem}. Set CROSS_ENCODER_MODEL to auto, none or a cross-encoder .npz made by "
                "training.cross_encoder"
            )
        return cls(meta, lora, full)

    def write(self, path: Path) -> None:
        arrays = {f"{LORA}{name}.{part}": m for name, (a, b) in self.lora.items() for part, m in (("A", a), ("B", b))}
        arrays.update({f"{FULL}{name}": value for name, value in self.full.items()})
        save_weights(path, self.meta, arrays, compressed=True)


def _not_a_cross_encoder(meta: object, lora: dict[str, Any], full: dict[str, Any]) -> str | None:
    """Why a readable .npz is not a cross-encoder, or None when it is one."""
    if not lora and not full:
        return "it holds no cross-encoder weights (lora:/full:); an embedder adapter (MODEL_ADAPTER) looks like this"
    if missing := [f"{FULL}{name}" for name in HEAD if name not in full]:
        return f"it lacks the classifier head's weights ({', '.join(missing)})"
    if not isinstance(meta, dict) or (missing := [key for key in META_NEEDED if key not in meta]):
        return f"its meta does not say how to merge it (no {', '.join(missing) if isinstance(meta, dict) else 'meta'})"
    return None


def _f32(array: np.ndarray) -> np.ndarray:
    """Shipped deltas may be float16 (half the file); the model and the merge are float32."""
    return array.astype(np.float32) if array.dtype == np.float16 else array


def resolve_cross_encoder(setting: str | None) -> Path | None:
    """CROSS_ENCODER_MODEL: "auto" is the shipped cross-encoder when present, "none" switches the cross-encoder off, else a path."""
    if not setting or setting.lower() == CROSS_ENCODER_NONE:
        return None
    if setting.lower() == CROSS_ENCODER_AUTO:
        return SHIPPED if SHIPPED.is_file() else None
    path = Path(setting).expanduser()
    if not path.is_file():
        raise CrossEncoderError(
            f"CROSS_ENCODER_MODEL {setting!r} is not a file; set it to auto, none or a cross-encoder .npz"
        )
    return path


def merge_into(model: Any, cross_encoder: CrossEncoderFile) -> None:
    """Add the LoRA deltas and load the whole parameters into `model` (a BertForSequenceClassification)."""
    import torch

    modules = dict(model.named_modules())
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, (a, b) in cross_encoder.lora.items():
            if name not in modules:
                raise CrossEncoderError(f"the cross-encoder does not fit this model: no layer {name!r}")
            weight = modules[name].weight
            if tuple(weight.shape) != (b.shape[0], a.shape[1]):
                raise CrossEncoderError(
                    f"the cross-encoder does not fit this model: layer {name!r} is {tuple(weight.shape)}"
                )
            weight.add_((torch.from_numpy(b) @ torch.from_numpy(a)).to(weight.dtype) * cross_encoder.scale)
        for name, value in cross_encoder.full.items():
            if name not in params or tuple(params[name].shape) != value.shape:
                raise CrossEncoderError(f"the cross-encoder does not fit this model: parameter {name!r}")
            params[name].copy_(torch.from_numpy(value))


def merged_model(cross_encoder: CrossEncoderFile, base_path: str) -> Any:
    """The base model with a one-logit head and the cross-encoder merged in, in eval mode (torch; build time only)."""
    hub_offline()
    from transformers import AutoModelForSequenceClassification, logging

    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # "newly initialized: classifier" - it is loaded from the cross-encoder just below
    try:
        model = AutoModelForSequenceClassification.from_pretrained(base_path, num_labels=1, local_files_only=True)
    finally:
        logging.set_verbosity(verbosity)
    merge_into(model, cross_encoder)
    return model.eval()
