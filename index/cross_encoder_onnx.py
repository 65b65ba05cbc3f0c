"""The cross-encoder as served: an ONNX export run with onnxruntime and `tokenizers` (no torch).

An export (made at build time by `index.cross_encoder_export`) holds `reader.json` (fingerprint, max_length, files),
`tokenizer.json`, `reader.onnx` and `reader-int8.onnx`; an index links what serving runs (the int8 file and the
tokenizer) into `models/reader-<id>/`, and every file is checked against reader.json's checksums before it is loaded.

`OnnxCrossEncoder` scores (question, sentence) pairs: many questions' pairs go in one session call (the bot's batched
path), padded to the longest pair. This module imports neither torch nor transformers: serving loads only it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .checksums import file_problem
from .errors import CrossEncoderExportMissing, IndexMissing
from .offline import hub_offline
from .onnx_encoder import TOKENIZER_JSON

if TYPE_CHECKING:
    from .store import IndexData

# The export's file names (and its folders' "reader-" prefix, in an index and the model cache) predate the
# rename to "cross-encoder": kept, so indexes and caches built before still load without a rebuild.
CROSS_ENCODER_JSON = "reader.json"
CROSS_ENCODER_FILES = {"fp32": "reader.onnx", "int8": "reader-int8.onnx"}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHUNK = 256  # pairs per session call at most: 32 questions x 8 sentences
CROSS_ENCODER_QUANTIZATION = "int8"  # which file serving runs (see the step table in docs for int8 against fp32)


class OnnxCrossEncoder:
    """Scores (question, sentence) pairs with an exported cross-encoder; thread-safe (onnxruntime sessions are)."""

    def __init__(self, folder: Path, quantization: str = "int8", *, threads: int = 1) -> None:
        hub_offline()
        from tokenizers import Tokenizer

        from .onnx_encoder import cpu_session

        try:
            info = json.loads((folder / CROSS_ENCODER_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CrossEncoderExportMissing(
                f"no usable cross-encoder export in {folder} ({type(exc).__name__})"
            ) from exc
        model_file = folder / CROSS_ENCODER_FILES[quantization]
        problem = file_problem(folder, info.get("files") or {}, [model_file.name, TOKENIZER_JSON])
        if problem is not None:  # named here, not fed to onnxruntime or tokenizers (see index.checksums)
            raise CrossEncoderExportMissing(f"the cross-encoder export in {folder}: {problem}")
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


def query_cross_encoder(data: IndexData, *, threads: int = 1) -> OnnxCrossEncoder | None:
    """The cross-encoder exported with the index `data`, in the quantisation its manifest names; None if it has none."""
    from .store import REBUILD_HINT, cross_encoder_folder

    folder = cross_encoder_folder(data.path, data.manifest)
    if folder is None or data.manifest.cross_encoder is None:
        return None
    try:
        return OnnxCrossEncoder(folder, data.manifest.cross_encoder.quantization, threads=threads)
    except CrossEncoderExportMissing as exc:
        raise IndexMissing(f"{exc}; {REBUILD_HINT}") from exc
