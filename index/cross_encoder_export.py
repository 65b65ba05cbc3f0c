"""The cross-encoder's ONNX export, made at build time (torch): what `index.cross_encoder_onnx` serves.

`export_cross_encoder` merges a cross-encoder file into the packaged MiniLM (`index.cross_encoder`) and traces it with
`torch.onnx.export` (opset 17, dynamic batch and sequence axes) from token ids to one logit per pair;
`reader-int8.onnx` is the same graph with dynamically quantised weights (the layout: `index.cross_encoder_onnx`). An
export is made once per cross-encoder file in the model cache (`index.export_cache`), written in a staging folder and
renamed into place, so no process ever sees half an export. torch and transformers are imported only inside the
export itself: serving never imports this module.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from .checksums import file_problem, sha256_file
from .cross_encoder_onnx import (
    CROSS_ENCODER_FILES,
    CROSS_ENCODER_JSON,
    CROSS_ENCODER_QUANTIZATION,
    INPUTS,
    OnnxCrossEncoder,
)
from .export_cache import cached, default_cache, provide, staged, write_info
from .offline import hub_offline
from .onnx_encoder import TOKENIZER_JSON
from .weights_file import cross_encoder_fingerprint

EXPORT_FORMAT = 1


def export_ready(folder: Path, quantization: str) -> bool:
    """A finished cross-encoder export with the `quantization` file, it and the tokenizer matching reader.json's checksums."""
    try:
        info = json.loads((folder / CROSS_ENCODER_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = info.get("files") if info.get("format") == EXPORT_FORMAT else None
    name = CROSS_ENCODER_FILES[quantization]
    return isinstance(files, dict) and name in files and file_problem(folder, files, [TOKENIZER_JSON, name]) is None


def export_cross_encoder(
    cross_encoder_path: Path, target: Path, model: str, fingerprint: str, *, cache: Path | None = None
) -> Path:
    """Make sure `target` holds a checked export of `cross_encoder_path` merged into `model`: fp32 and int8 ONNX.

    With `cache` (the model cache, `index.export_cache`) the export is made once there and `target` gets links to
    what serving runs (CROSS_ENCODER_QUANTIZATION); a damaged or missing file in `target` is linked again from the cache."""
    return provide(
        cache,
        f"reader-{fingerprint}-f{EXPORT_FORMAT}",
        target,
        ready=lambda folder: export_ready(folder, CROSS_ENCODER_QUANTIZATION),
        make=lambda folder: _export(cross_encoder_path, folder, model, fingerprint),
        info_file=CROSS_ENCODER_JSON,
        files=[TOKENIZER_JSON, CROSS_ENCODER_FILES[CROSS_ENCODER_QUANTIZATION]],
    )


def _export(cross_encoder_path: Path, target: Path, model: str, fingerprint: str) -> None:
    """Merge `cross_encoder_path` into `model`, export fp32 and int8 ONNX into `target` (replaced when there)."""
    import torch

    hub_offline()
    from transformers import AutoTokenizer

    from .cross_encoder import CrossEncoderFile, merged_model
    from .embedder import resolve_model
    from .onnx_export import quantize_per_batch

    cross_encoder = CrossEncoderFile.read(cross_encoder_path)
    base = resolve_model(model)
    merged = merged_model(cross_encoder, base)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    with staged(target) as staging:
        tokenizer.backend_tokenizer.save(str(staging / TOKENIZER_JSON))
        sample = tokenizer(["a question?", "another one"], ["a sentence.", "and a longer sentence."], padding=True)
        tensors = tuple(torch.tensor(sample[name]) for name in INPUTS)
        wrapper = _Logit(merged).eval()
        axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS} | {"logit": {0: "batch"}}
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                tensors,
                str(staging / CROSS_ENCODER_FILES["fp32"]),
                input_names=list(INPUTS),
                output_names=["logit"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        quantize_per_batch(staging / CROSS_ENCODER_FILES["fp32"], staging / CROSS_ENCODER_FILES["int8"])
        info = {
            "format": EXPORT_FORMAT,
            "fingerprint": fingerprint,
            "reader": cross_encoder_path.name,  # the key, as the file names, predates the rename
            "max_length": int(cross_encoder.meta.get("max_length", 128)),
            "pad_id": int(tokenizer.pad_token_id or 0),
            "files": {p.name: sha256_file(p) for p in sorted(staging.iterdir())},
        }
        write_info(staging, CROSS_ENCODER_JSON, info)


def _logit_class() -> type:
    import torch

    class Logit(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
            return self.model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits[:, 0]

    return Logit


def _Logit(model: Any) -> Any:
    return _logit_class()(model)


def load_cross_encoder(
    setting: str | None = "auto",
    *,
    model: str = "all-MiniLM-L6-v2",
    cache: Path | None = None,
    quantization: str = CROSS_ENCODER_QUANTIZATION,
) -> OnnxCrossEncoder | None:
    """A cross-encoder for an in-memory library (benchmarks, notebooks): CROSS_ENCODER_MODEL's `setting`, served from its export
    in the model cache (`cache`, default `export_cache.default_cache()`; exported there if missing)."""
    from .cross_encoder import resolve_cross_encoder
    from .embedder import fingerprint

    path = resolve_cross_encoder(setting)
    if path is None:
        return None
    cross_encoder_fp = cross_encoder_fingerprint(path, fingerprint(model, "none"))
    folder = cached(
        cache or default_cache(),
        f"reader-{cross_encoder_fp}-f{EXPORT_FORMAT}",
        ready=lambda f: export_ready(f, quantization),
        make=lambda f: _export(path, f, model, cross_encoder_fp),
    )
    return OnnxCrossEncoder(folder, quantization)
