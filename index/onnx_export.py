"""Build-time export of a sentence-transformers model to ONNX (fp32, and int8 by dynamic quantisation per token).

Serving then needs only onnxruntime and `tokenizers` (0.2 s to import) instead of torch and
sentence-transformers (4-7 s). sentence-transformers' own `backend="onnx"` needs optimum-onnx, which does
not import beside transformers 5, so the whole model (transformer, pooling, dense layers, normalisation) is
traced with plain `torch.onnx.export` instead: one graph from token ids to the sentence embedding, which
works for any sentence-transformers model, not only BERT with mean pooling (loaded with transformers alone where
that is enough: `index.torch_model`). A plain BERT, the packaged MiniLM among them, is not traced: its graph is
written from its weights without importing torch (`index.bert_graph`, about 1 s against 7 s).

An export folder holds `encoder.json` (what the serving side needs: dimension, max_seq_length, inputs,
the model's fingerprint), `tokenizer.json` (the model's own fast tokenizer), `model.onnx` and, when asked
for, `model-int8.onnx`. It is made once per model in the model cache (`index.export_cache`) and written in a
temporary folder renamed into place, so no one sees half an export; an index links the files it serves. This
module imports torch only to trace: only the build path may use it.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

from .bert_graph import write_bert_graph
from .checksums import FileProblem, file_problem, sha256_file
from .embedder import ADAPTER_AUTO, fingerprint, resolve_adapter
from .errors import ModelNotFound
from .export_cache import provide, staged, write_info
from .onnx_encoder import ENCODER_JSON, MODEL_FILES, TOKENIZER_JSON
from .torch_model import load_traceable

EXPORT_FORMAT = 2  # 2: int8 scaled per token (index.int8_graph). Bump when the files change: the cache keys by it
QUANTIZATIONS = tuple(MODEL_FILES)
NOT_EXPORTED = "was not exported"  # an export without this quantisation's model file yet: no damage
log = logging.getLogger(__name__)


def read_export_info(folder: Path) -> dict[str, Any]:
    return json.loads((folder / ENCODER_JSON).read_text(encoding="utf-8"))


def export_problem(folder: Path, quantization: str) -> FileProblem | None:
    """What keeps `folder` from being a finished export with the `quantization` model file, or None.

    The files serving that quantisation loads (the tokenizer and the model file) must match encoder.json's
    checksums: a truncated or overwritten file is found here, at build time, and made again. (The other
    quantisation's file is checked when it is asked for.)
    """
    try:
        info = read_export_info(folder)
    except (OSError, ValueError):
        return FileProblem(ENCODER_JSON, not (folder / ENCODER_JSON).exists(), "is missing or unreadable")
    files = info.get("files") if info.get("format") == EXPORT_FORMAT else None
    if not isinstance(files, dict):
        return FileProblem(ENCODER_JSON, False, f"is not of export format {EXPORT_FORMAT}")
    name = MODEL_FILES[quantization]
    if name not in files:
        return FileProblem(name, True, NOT_EXPORTED)
    return file_problem(folder, files, [TOKENIZER_JSON, name])


def export_ready(folder: Path, quantization: str) -> bool:
    """True when `folder` holds a finished, undamaged export with the `quantization` model file."""
    return export_problem(folder, quantization) is None


def ensure_export(
    model: str,
    target: Path,
    quantization: str,
    *,
    model_id: str | None = None,
    adapter: str | None = ADAPTER_AUTO,
    cache: Path | None = None,
) -> Path:
    """Make sure `target` holds a checked export of `model` with the `quantization` file.

    With `cache` (the model cache, `index.export_cache`) the export is made once there and `target` gets links to
    the files it serves; without, it is made in `target`. A damaged export (a file that does not match
    encoder.json's checksum) is made again: from the cache when only `target`'s copy is damaged.
    """
    if quantization not in MODEL_FILES:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, not {quantization!r}")
    problem = export_problem(target, quantization)
    if problem is None:
        return target
    if (target / ENCODER_JSON).is_file() and problem.how != NOT_EXPORTED:
        log.warning("the ONNX export in %s is damaged (%s): making it again", target, problem)
    model_id = model_id or fingerprint(model, adapter)
    return provide(
        cache,
        f"{model_id}-f{EXPORT_FORMAT}",
        target,
        ready=lambda folder: export_ready(folder, quantization),
        make=lambda folder: _make(model, folder, quantization, model_id, adapter),
        info_file=ENCODER_JSON,
        files=[TOKENIZER_JSON, MODEL_FILES[quantization]],
    )


def _make(model: str, folder: Path, quantization: str, model_id: str, adapter: str | None) -> None:
    """Export into `folder` what it lacks: an fp32 export asked for int8 later is quantised in place."""
    if export_ready(folder, "fp32") and not export_ready(folder, quantization):
        staged = folder / f".{MODEL_FILES['int8']}.{os.getpid()}"
        quantize_int8(folder / MODEL_FILES["fp32"], staged)
        os.replace(staged, folder / MODEL_FILES["int8"])  # a new file: never written through another folder's link
        info = read_export_info(folder)
        info["files"][MODEL_FILES["int8"]] = sha256_file(folder / MODEL_FILES["int8"])
        write_info(folder, ENCODER_JSON, info)
    if not export_ready(folder, quantization):
        _export(model, folder, quantization, model_id, adapter)


def _export(model: str, target: Path, quantization: str, model_id: str, adapter: str | None) -> None:
    """Write the model (its adapter merged) as ONNX, and quantise it, in a staging folder; rename it to `target`.

    A plain BERT is written from its weights without torch (`index.bert_graph`); any other model is traced."""
    adapter_path = resolve_adapter(model, adapter)
    with staged(target) as staging:
        described = write_bert_graph(model, adapter_path, staging) or _trace(model, adapter, staging)
        if quantization == "int8":
            quantize_int8(staging / MODEL_FILES["fp32"], staging / MODEL_FILES["int8"])
        info = {
            "format": EXPORT_FORMAT,
            "model": model,
            "fingerprint": model_id,
            "adapter": adapter_path.name if adapter_path else "",
            **described,
            "files": {p.name: sha256_file(p) for p in sorted(staging.iterdir())},
        }
        write_info(staging, ENCODER_JSON, info)
    log.info("exported %s to %s", model, target)


def _trace(model: str, adapter: str | None, staging: Path) -> dict[str, Any]:
    """Trace the model with torch into `staging`'s tokenizer.json and model.onnx; returns encoder.json's fields."""
    import torch

    source = load_traceable(model, adapter)
    tokenizer = getattr(source.tokenizer, "backend_tokenizer", None)
    if tokenizer is None:
        raise ModelNotFound(f"model {model!r} has no fast tokenizer; the ONNX path needs tokenizer.json")
    tokenizer.save(str(staging / TOKENIZER_JSON))
    features = source.features(["a short text", "and a somewhat longer one"])
    names = [k for k, v in features.items() if isinstance(v, torch.Tensor) and v.dim() == 2]
    wrapper = _wrap(source.module, names).eval()
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["sentence_embedding"] = {0: "batch"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches that do not apply
        torch.onnx.export(
            wrapper,
            tuple(features[n] for n in names),
            str(staging / MODEL_FILES["fp32"]),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return {
        "dimension": source.dimension,
        "max_seq_length": source.max_seq_length,
        "do_lower_case": source.do_lower_case,
        "prompt": source.prompt,
        "inputs": names,
        "pad_id": int(tokenizer.padding["pad_id"]) if tokenizer.padding else int(source.tokenizer.pad_token_id or 0),
        "pad_token": str(source.tokenizer.pad_token or "[PAD]"),
    }


def quantize_int8(source: Path, target: Path) -> None:
    """int8 weights per output column, activations per token (`index.int8_graph`): a text's vector no longer
    depends on its batch-mates, and it is closer to fp32 (cosine 0.997 on average, against 0.994 for one scale per
    batch)."""
    from .int8_graph import quantize_rows

    quantize_rows(source, target)


def quantize_per_batch(source: Path, target: Path) -> None:
    """onnxruntime's dynamic int8 quantisation: weights of MatMul and Gather per channel, activations one scale per
    batch. The cross-encoder keeps it (its fitted weights were fitted on its logits); the embedder's is `quantize_int8`.

    Per-channel scales keep the embeddings close to fp32 (cosine >= 0.98 on short texts, 0.994 on average,
    see tests/engine/test_onnx.py); per-tensor scales drop the worst case to 0.90.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    quiet = _DropPreprocessHint()
    root.addFilter(quiet)  # onnxruntime logs a hint about static-quantisation pre-processing on the root logger
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Gather"],
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        root.removeFilter(quiet)


class _DropPreprocessHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _wrapper_class() -> type:
    import torch

    class Wrapper(torch.nn.Module):
        """Positional tensors in, sentence embedding out: the signature torch.onnx.export traces."""

        def __init__(self, model: torch.nn.Module, names: list[str]) -> None:
            super().__init__()
            self.model, self.names = model, names

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(dict(zip(self.names, tensors)))["sentence_embedding"]

    return Wrapper


def _wrap(model: Any, names: list[str]) -> Any:
    return _wrapper_class()(model, names)
