"""Build-time export of a sentence-transformers model to ONNX (fp32, and int8 by dynamic quantisation).

Serving then needs only onnxruntime and `tokenizers` (0.2 s to import) instead of torch and
sentence-transformers (4-7 s). sentence-transformers' own `backend="onnx"` needs optimum-onnx, which does
not import beside transformers 5, so the whole model (transformer, pooling, dense layers, normalisation) is
traced with plain `torch.onnx.export` instead: one graph from token ids to the sentence embedding, which
works for any sentence-transformers model, not only BERT with mean pooling.

An export folder holds `encoder.json` (what the serving side needs: dimension, max_seq_length, inputs,
the model's fingerprint), `tokenizer.json` (the model's own fast tokenizer), `model.onnx` and, when asked
for, `model-int8.onnx`. It is written in a temporary folder and renamed into place, so a reader never
sees half an export. This module imports torch: only the build path may use it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

from .checksums import FileProblem, file_problem, sha256_file
from .embedder import ADAPTER_AUTO, fingerprint, load_sentence_transformer, resolve_adapter
from .errors import ModelNotFound

EXPORT_FORMAT = 1
ENCODER_JSON = "encoder.json"
MODEL_FILES = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
QUANTIZATIONS = tuple(MODEL_FILES)
NOT_EXPORTED = "was not exported"  # an export without this quantisation's model file yet: no damage
log = logging.getLogger(__name__)
_exported: dict[str, Path] = {}  # fingerprint -> a finished export in this process (tests build many indexes)


def read_export_info(folder: Path) -> dict[str, Any]:
    return json.loads((folder / ENCODER_JSON).read_text(encoding="utf-8"))


def export_problem(folder: Path, quantization: str) -> FileProblem | None:
    """What keeps `folder` from being a finished export with the `quantization` model file, or None.

    Every file encoder.json records (the tokenizer, each model file, whatever a later format adds) must match its
    checksum: a truncated or overwritten file is found here, at build time, and exported again.
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
    return file_problem(folder, files)


def export_ready(folder: Path, quantization: str) -> bool:
    """True when `folder` holds a finished, undamaged export with the `quantization` model file."""
    return export_problem(folder, quantization) is None


def ensure_export(
    model: str, target: Path, quantization: str, *, model_id: str | None = None, adapter: str | None = ADAPTER_AUTO
) -> Path:
    """Make sure `target` holds an export of `model` with the `quantization` file; export only what is missing.

    A damaged export (a file that does not match encoder.json's checksum) is exported again. A finished export
    made earlier in this process is hard-linked rather than traced again.
    """
    if quantization not in MODEL_FILES:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, not {quantization!r}")
    problem = export_problem(target, quantization)
    if problem is None:
        return target
    if (target / ENCODER_JSON).is_file() and problem.how != NOT_EXPORTED:
        log.warning("the ONNX export in %s is damaged (%s): exporting it again", target, problem)
    model_id = model_id or fingerprint(model, adapter)
    source = _exported.get(model_id)
    if not export_ready(target, "fp32") and source is not None and source != target and export_ready(source, "fp32"):
        _link_tree(source, target)
    if export_ready(target, "fp32") and not export_ready(target, quantization):
        # an fp32 export asked for int8 later: quantise it in place
        quantize_int8(target / MODEL_FILES["fp32"], target / MODEL_FILES["int8"])
        info = read_export_info(target)
        info["files"][MODEL_FILES["int8"]] = sha256_file(target / MODEL_FILES["int8"])
        _write_info(target, info)
    if not export_ready(target, quantization):
        _export(model, target, quantization, model_id, adapter)
    _exported[model_id] = target
    return target


def _write_info(folder: Path, info: dict[str, Any]) -> None:
    """Replace encoder.json by rename: never write through a hard link into another index's export."""
    tmp = folder / f".{ENCODER_JSON}.{os.getpid()}"
    tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
    os.replace(tmp, folder / ENCODER_JSON)


def _link_tree(source: Path, target: Path) -> None:
    staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for path in source.iterdir():
        try:
            os.link(path, staging / path.name)
        except OSError:
            shutil.copy2(path, staging / path.name)
    _swap_in(staging, target)


def _swap_in(staging: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def _export(model: str, target: Path, quantization: str, model_id: str, adapter: str | None) -> None:
    """Trace the model (its adapter merged) to ONNX, and quantise it, in a staging folder; rename it to `target`."""
    import torch

    st = load_sentence_transformer(model, adapter)
    adapter_path = resolve_adapter(model, adapter)
    staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        tokenizer = getattr(st.tokenizer, "backend_tokenizer", None)
        if tokenizer is None:
            raise ModelNotFound(f"model {model!r} has no fast tokenizer; the ONNX path needs tokenizer.json")
        tokenizer.save(str(staging / "tokenizer.json"))
        features = {k: v for k, v in st.preprocess(["a short text", "and a somewhat longer one"]).items()}
        names = [k for k, v in features.items() if isinstance(v, torch.Tensor) and v.dim() == 2]
        wrapper = _wrap(st, names).eval()
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
        if quantization == "int8":
            quantize_int8(staging / MODEL_FILES["fp32"], staging / MODEL_FILES["int8"])
        prompt = st.prompts.get(st.default_prompt_name, "") if getattr(st, "default_prompt_name", None) else ""
        info = {
            "format": EXPORT_FORMAT,
            "model": model,
            "fingerprint": model_id,
            "adapter": adapter_path.name if adapter_path else "",
            "dimension": int(st.get_embedding_dimension()),
            "max_seq_length": int(st.max_seq_length),
            "do_lower_case": bool(getattr(st[0], "do_lower_case", False)),
            "prompt": prompt,
            "inputs": names,
            "pad_id": int(tokenizer.padding["pad_id"]) if tokenizer.padding else int(st.tokenizer.pad_token_id or 0),
            "pad_token": str(st.tokenizer.pad_token or "[PAD]"),
            "files": {p.name: sha256_file(p) for p in sorted(staging.iterdir())},
        }
        _write_info(staging, info)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("exported %s to %s", model, target)


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weights of MatMul and Gather (embeddings), per channel.

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

        def __init__(self, st: torch.nn.Module, names: list[str]) -> None:
            super().__init__()
            self.st, self.names = st, names

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.st(dict(zip(self.names, tensors)))["sentence_embedding"]

    return Wrapper


def _wrap(st: Any, names: list[str]) -> Any:
    return _wrapper_class()(st, names)
