"""Serving-time encoder: onnxruntime and the model's own tokenizer, without torch.

It reads an export made by `index.onnx_export` (see there for the layout) and gives the same vectors as
sentence-transformers: fp32 within 1e-6, int8 within the cosine stated in tests/engine/test_onnx.py. Importing this
module costs about 0.2 s and 60 MB, where sentence-transformers costs 4-7 s and several hundred MB.

int8 is dynamic quantisation. Exports of format 2 and later (`index.int8_graph`) give every token its own scale,
and batches hold texts of one token length only (no padding), so a text's vector is the same bit for bit alone
or in a batch (`batch_invariant`). Format 1's int8 (onnxruntime's `quantize_dynamic`) gave a whole batch one scale:
a text's vector moved slightly with its batch-mates (cosine >= 0.98), and questions were encoded one at a time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .checksums import file_problem
from .embedder import Encoder
from .errors import ExportDamaged, ExportMissing, IndexCorrupt, IndexMissing
from .offline import hub_offline

if TYPE_CHECKING:
    from .store import IndexData

ENCODER_JSON = "encoder.json"
TOKENIZER_JSON = "tokenizer.json"
MODEL_FILES = {"fp32": "model.onnx", "int8": "model-int8.onnx"}
TOKEN_BUDGET = 2048
ROW_SCALED_FORMAT = 2  # the first export format whose int8 model scales each token on its own (index.int8_graph)


def cpu_session(model_file: Path, threads: int = 1) -> Any:
    """An onnxruntime session on the CPU with `threads` for one call (0: every core), one call at a time: the bot
    runs its own threads around it. Serving uses ENCODER_THREADS (`EngineOptions.encoder_threads`, default 1: one
    question is too small to share out across cores, and the bot's other threads need them). onnxruntime is
    imported here, not at start-up."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


class OnnxEncoder(Encoder):
    """Texts to L2-normalised float32 rows with an exported model; thread-safe (onnxruntime sessions are)."""

    backend = "onnx"

    def __init__(self, folder: str | Path, quantization: str = "int8", *, threads: int = 1, workers: int = 1) -> None:
        """`threads` per session call (serving: 1); `workers` > 1 runs that many batches at once (builds):
        on two cores, two single-threaded batches beat one two-threaded batch by 2x."""
        hub_offline()
        from tokenizers import Tokenizer

        folder = Path(folder)
        if quantization not in MODEL_FILES:
            raise ValueError(f"quantization must be one of {', '.join(MODEL_FILES)}, not {quantization!r}")
        model_file = folder / MODEL_FILES[quantization]
        try:
            info = json.loads((folder / ENCODER_JSON).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ExportMissing(f"no usable ONNX export in {folder} ({type(exc).__name__})") from exc
        # The files this encoder loads, checked against encoder.json's checksums (hashed once per process while
        # unchanged, see index.checksums): a damaged file is named, not fed to onnxruntime or tokenizers.
        problem = file_problem(folder, info.get("files") or {}, [model_file.name, TOKENIZER_JSON])
        if problem is not None:
            error = ExportMissing if problem.missing else ExportDamaged
            raise error(f"the ONNX export in {folder}: {problem}")
        self.folder = folder
        self.name: str = info["model"]
        self.fingerprint: str = info["fingerprint"]
        self.dimension: int = int(info["dimension"])
        self.quantization = quantization
        self.adapter = str(info.get("adapter") or "")
        self._lower = bool(info.get("do_lower_case"))
        self._prompt = str(info.get("prompt") or "")
        self._inputs: list[str] = list(info["inputs"])
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_JSON))
        self._tokenizer.enable_truncation(int(info["max_seq_length"]))
        self._tokenizer.no_padding()  # batches are padded here, to their own longest text
        self._pad_id = int(info.get("pad_id", 0))
        self._session = cpu_session(model_file, threads)
        self.batch_invariant = quantization == "int8" and int(info.get("format", 1)) >= ROW_SCALED_FORMAT
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="encode") if workers > 1 else None

    def _prepare(self, text: str) -> str:
        text = self._prompt + text
        return text.lower() if self._lower else text

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Encode in batches of texts of one token length (no padding), in the caller's order.

        No padding keeps each text's arithmetic the same in any batch (padding changes how onnxruntime sums a
        row, in the last bit). A batch holds at most `batch_size` texts and about TOKEN_BUDGET tokens: past that,
        activations fall out of cache and a bigger batch gets slower per text, not faster (8 paragraphs beat 32 by
        1.3x here).
        """
        if len(texts) == 1:  # a lone question, the serving case: nothing to sort, pad or scatter back
            return self._run([self._tokenizer.encode(self._prepare(texts[0]))])
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([self._prepare(t) for t in texts])
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        batches, start = [], 0
        while start < len(order):
            size = 1
            while (
                start + size < len(order)
                and size < batch_size
                and lengths[order[start + size]] == lengths[order[start]]
                and (size + 1) * lengths[order[start]] <= TOKEN_BUDGET
            ):
                size += 1
            batches.append(order[start : start + size])
            start += size
        run = lambda rows: self._run([encodings[i] for i in rows])  # noqa: E731
        if self._pool is not None and len(batches) > 1:
            results = list(self._pool.map(run, batches))
        else:
            results = [run(rows) for rows in batches]
        for rows, vectors in zip(batches, results):
            out[rows] = vectors
        return out

    def _run(self, encodings: list[Any]) -> np.ndarray:
        if len(encodings) == 1:  # no padding: the token arrays as they are (0.1 ms less per lone question)
            e = encodings[0]
            given = {"input_ids": e.ids, "attention_mask": e.attention_mask, "token_type_ids": e.type_ids}
            return _normalised(self._session.run(None, {n: np.array([given[n]], np.int64) for n in self._inputs})[0])
        width = max(len(e.ids) for e in encodings)
        columns = {name: np.zeros((len(encodings), width), dtype=np.int64) for name in self._inputs}
        columns.setdefault("input_ids", np.zeros((len(encodings), width), dtype=np.int64))
        columns["input_ids"][:] = self._pad_id
        for row, e in enumerate(encodings):
            n = len(e.ids)
            columns["input_ids"][row, :n] = e.ids
            if "attention_mask" in columns:
                columns["attention_mask"][row, :n] = e.attention_mask
            if "token_type_ids" in columns:
                columns["token_type_ids"][row, :n] = e.type_ids
        feed = {name: columns[name] for name in self._inputs}
        return _normalised(self._session.run(None, feed)[0])


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = vectors.astype(np.float32, copy=False)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def query_encoder(data: IndexData, *, threads: int = 1) -> Encoder:
    """The encoder for questions to the index `data`: its ONNX export, in the quantisation it was built with.

    An index with no export (built by a custom encoder) falls back to sentence-transformers for fp32.
    """
    from .store import REBUILD_HINT, encoder_folder

    folder = encoder_folder(data.path, data.manifest)
    if folder is None:
        if data.manifest.quantization != "fp32":
            raise IndexMissing(f"index {data.path} names no ONNX export for its int8 vectors; {REBUILD_HINT}")
        from .embedder import load_encoder

        return load_encoder(data.manifest.model, "auto" if data.manifest.model_adapter else "none")
    try:
        return OnnxEncoder(folder, data.manifest.quantization, threads=threads)
    except ExportDamaged as exc:
        raise IndexCorrupt(f"{exc}; {REBUILD_HINT} (it exports the model again)") from exc
    except ExportMissing as exc:
        raise IndexMissing(f"{exc}; {REBUILD_HINT}") from exc
