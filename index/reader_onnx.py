"""The reader as served: exported to ONNX at build time, run with onnxruntime and `tokenizers` (no torch).

`export_reader` (build time, imports torch) merges a reader file into the packaged MiniLM (`index.reader`) and
traces it with `torch.onnx.export` (opset 17, dynamic batch and sequence axes) from token ids to one logit per
pair; `reader-int8.onnx` is the same graph with dynamically quantised weights. An export holds `reader.json`
(fingerprint, max_length, files), `tokenizer.json`, `reader.onnx` and `reader-int8.onnx`; it is made once per reader
file in the model cache (`index.export_cache`), written in a staging folder and renamed into place, so a reader never
sees half an export. An index links what serving runs (the int8 file and the tokenizer) into `models/reader-<id>/`.

`OnnxReader` scores (question, sentence) pairs: many questions' pairs go in one session call (the bot's batched
path), padded to the longest pair.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .checksums import file_problem, sha256_file
from .errors import IndexMissing, ReaderExportMissing
from .export_cache import cached, default_cache, provide, swap_in, write_info
from .offline import hub_offline
from .onnx_encoder import TOKENIZER_JSON

if TYPE_CHECKING:
    from .store import IndexData

READER_JSON = "reader.json"
READER_FILES = {"fp32": "reader.onnx", "int8": "reader-int8.onnx"}
EXPORT_FORMAT = 1
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHUNK = 256  # pairs per session call at most: 32 questions x 8 sentences
READER_QUANTIZATION = "int8"  # which file serving runs (see the step table in docs for int8 against fp32)


def export_ready(folder: Path, quantization: str) -> bool:
    """A finished reader export with the `quantization` file, it and the tokenizer matching reader.json's checksums."""
    try:
        info = json.loads((folder / READER_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = info.get("files") if info.get("format") == EXPORT_FORMAT else None
    name = READER_FILES[quantization]
    return isinstance(files, dict) and name in files and file_problem(folder, files, [TOKENIZER_JSON, name]) is None


def export_reader(reader_path: Path, target: Path, model: str, fingerprint: str, *, cache: Path | None = None) -> Path:
    """Make sure `target` holds a checked export of `reader_path` merged into `model`: fp32 and int8 ONNX.

    With `cache` (the model cache, `index.export_cache`) the export is made once there and `target` gets links to
    what serving runs (READER_QUANTIZATION); a damaged or missing file in `target` is linked again from the cache."""
    return provide(
        cache,
        f"reader-{fingerprint}-f{EXPORT_FORMAT}",
        target,
        ready=lambda folder: export_ready(folder, READER_QUANTIZATION),
        make=lambda folder: _export(reader_path, folder, model, fingerprint),
        info_file=READER_JSON,
        files=[TOKENIZER_JSON, READER_FILES[READER_QUANTIZATION]],
    )


def _export(reader_path: Path, target: Path, model: str, fingerprint: str) -> None:
    """Merge `reader_path` into `model`, export fp32 and int8 ONNX into `target` (replaced when there)."""
    import torch

    hub_offline()
    from transformers import AutoTokenizer

    from .embedder import resolve_model
    from .onnx_export import quantize_int8
    from .reader import ReaderFile, merged_model

    reader = ReaderFile.read(reader_path)
    base = resolve_model(model)
    merged = merged_model(reader, base)
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
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
                str(staging / READER_FILES["fp32"]),
                input_names=list(INPUTS),
                output_names=["logit"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        quantize_int8(staging / READER_FILES["fp32"], staging / READER_FILES["int8"])
        info = {
            "format": EXPORT_FORMAT,
            "fingerprint": fingerprint,
            "reader": reader_path.name,
            "max_length": int(reader.meta.get("max_length", 128)),
            "pad_id": int(tokenizer.pad_token_id or 0),
            "files": {p.name: sha256_file(p) for p in sorted(staging.iterdir())},
        }
        write_info(staging, READER_JSON, info)
        swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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


class OnnxReader:
    """Scores (question, sentence) pairs with an exported reader; thread-safe (onnxruntime sessions are)."""

    def __init__(self, folder: Path, quantization: str = "int8", *, threads: int = 1) -> None:
        hub_offline()
        from tokenizers import Tokenizer

        from .onnx_encoder import cpu_session

        try:
            info = json.loads((folder / READER_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReaderExportMissing(f"no usable reader export in {folder} ({type(exc).__name__})") from exc
        model_file = folder / READER_FILES[quantization]
        problem = file_problem(folder, info.get("files") or {}, [model_file.name, TOKENIZER_JSON])
        if problem is not None:  # named here, not fed to onnxruntime or tokenizers (see index.checksums)
            raise ReaderExportMissing(f"the reader export in {folder}: {problem}")
        self.folder = folder
        self.fingerprint: str = info["fingerprint"]
        self.quantization = quantization
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_JSON))
        self._tokenizer.enable_truncation(int(info["max_length"]), strategy="longest_first")
        self._tokenizer.no_padding()
        self._pad_id = int(info.get("pad_id", 0))
        self._session = cpu_session(model_file, threads)

    def logits(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """One relevance logit per (question, sentence) pair: one session call for a bot-sized batch; a bigger one
        goes in chunks of CHUNK pairs of similar length (activations grow with batch x length^2)."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        encodings = self._tokenizer.encode_batch([(q, s) for q, s in pairs])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.zeros(len(pairs), dtype=np.float32)
        for start in range(0, len(order), CHUNK):
            rows = order[start : start + CHUNK]
            out[rows] = self._run([encodings[i] for i in rows])
        return out

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        feed = dict(zip(INPUTS, (ids, mask, types)))
        return np.asarray(self._session.run(None, feed)[0], dtype=np.float32).reshape(-1)


def query_reader(data: IndexData, *, threads: int = 1) -> OnnxReader | None:
    """The reader exported with the index `data`, in the quantisation its manifest names; None if it has none."""
    from .store import REBUILD_HINT, reader_folder

    folder = reader_folder(data.path, data.manifest)
    if folder is None or data.manifest.reader is None:
        return None
    try:
        return OnnxReader(folder, data.manifest.reader.quantization, threads=threads)
    except ReaderExportMissing as exc:
        raise IndexMissing(f"{exc}; {REBUILD_HINT}") from exc


def load_reader(
    setting: str | None = "auto",
    *,
    model: str = "all-MiniLM-L6-v2",
    cache: Path | None = None,
    quantization: str = READER_QUANTIZATION,
) -> OnnxReader | None:
    """A reader for an in-memory library (benchmarks, notebooks): READER_MODEL's `setting`, served from its export
    in the model cache (`cache`, default `export_cache.default_cache()`; exported there if missing)."""
    from .adapter import weights_id
    from .embedder import fingerprint
    from .reader import resolve_reader

    path = resolve_reader(setting)
    if path is None:
        return None
    reader_fp = f"{weights_id(path)}-{fingerprint(model, 'none')[:8]}"
    folder = cached(
        cache or default_cache(),
        f"reader-{reader_fp}-f{EXPORT_FORMAT}",
        ready=lambda f: export_ready(f, quantization),
        make=lambda f: _export(path, f, model, reader_fp),
    )
    return OnnxReader(folder, quantization)
