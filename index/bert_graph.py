"""The fp32 ONNX graph of a plain BERT sentence-transformers model, written from its weights with numpy: no torch.

A first build on a machine exports the embedder; with torch that cost about 11 s of a 25 s build (importing
transformers and torch and loading the model 5.4 s, tracing 2 s). A plain model (`torch_model.plain_config`: a
transformer, mean or CLS pooling, maybe a normalisation) whose transformer is a BERT is a dozen kinds of ONNX node,
so this module writes that graph itself from `model.safetensors`, the adapter merged in numpy
(`index.adapter.deltas`, the rule the torch path merges with), in about a second. The graph is what the torch export
computes, in transformers' arithmetic (tests/engine/test_bert_graph.py holds it to sentence-transformers' output):

- embeddings: `Gather` on the word, token-type and position tables, summed, then `LayerNormalization`;
- each dense layer a plain `MatMul(activation, W)` with W a constant [in, out] initializer, then `Add(bias)`: the
  shape the int8 quantiser (`onnx_export.quantize_int8`) looks for;
- attention: `Softmax(QK^T / sqrt(d) + mask)`, the mask additive with float32's minimum as in transformers;
  BERT's "gelu" is the exact, `Erf`-based one;
- pooling and normalisation as `torch_model`'s Pooled: the mask-weighted mean (count clamped at 1e-9) or the
  first token, divided by its L2 norm clamped at 1e-12.

`write_bert_graph` returns None, having written nothing, for any model it cannot write (another architecture,
another position embedding or activation, weights not float32 in safetensors, a tokenizer it cannot prove equal
to transformers', see `index.bert_tokenizer`): `onnx_export` then exports with torch, as before.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from .adapter import deltas
from .bert_tokenizer import INPUTS, BertTokenizerFile, bert_tokenizer
from .embedder import model_folder
from .errors import AdapterError, ModelNotFound
from .onnx_encoder import MODEL_FILES, TOKENIZER_JSON
from .torch_model import plain_config, read_json

OPSET = 17
PRODUCER = "newsroom-bot index.bert_graph"  # the model file's producer_name: which path wrote an export
log = logging.getLogger(__name__)


def write_bert_graph(model: str, adapter: Path | None, staging: Path) -> dict[str, Any] | None:
    """Write `model`'s tokenizer.json and fp32 model.onnx (the `adapter` merged) into `staging`, and return the
    encoder.json fields that describe them; None, with nothing written, where `model` is not a plain BERT."""
    try:
        plan = _plan(model)
        if not isinstance(plan, str):
            folder, (pooling, normalise, max_seq_length, do_lower_case, prompt), config, tokenizer = plan
            weights = _weights(folder, config)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        plan = f"its files are not what a BERT's are ({type(exc).__name__}: {exc})"
    if isinstance(plan, str):
        log.info("exporting %s with torch: %s", model, plan)
        return None
    if adapter is not None:
        shapes = {name.removesuffix(".weight"): w.shape for name, w in weights.items() if name.endswith(".weight")}
        try:
            for name, delta in deltas(adapter, shapes).items():
                weights[f"{name}.weight"] = weights[f"{name}.weight"] + delta
        except AdapterError as exc:  # as the torch path says it
            raise ModelNotFound(f"{exc}; or set MODEL_ADAPTER=none") from exc
    graph = _graph(weights, config, pooling, normalise)
    (staging / MODEL_FILES["fp32"]).write_bytes(graph.SerializeToString())
    tokenizer.tokenizer.save(str(staging / TOKENIZER_JSON))
    return {
        "dimension": int(config["hidden_size"]),
        "max_seq_length": max_seq_length,
        "do_lower_case": do_lower_case,
        "prompt": prompt,
        "inputs": list(INPUTS),
        "pad_id": tokenizer.pad_id,
        "pad_token": tokenizer.pad_token,
    }


def _plan(model: str) -> tuple[Path, tuple[str, bool, int, bool, str], dict[str, Any], BertTokenizerFile] | str:
    """(folder, plain config, config.json, tokenizer) when `model` is a plain BERT this module writes; else why not."""
    folder = model_folder(model)
    if folder is None:
        return "its folder is not found"
    plain = plain_config(folder)
    if plain is None:
        return "it is not a plain transformer, pooling and normalisation"
    config = read_json(folder / "config.json")
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    checks = {
        "model_type is not bert": config.get("model_type") != "bert",
        "its position embeddings are not absolute": config.get("position_embedding_type", "absolute") != "absolute",
        "hidden_act is not gelu": config.get("hidden_act") != "gelu",
        "it is a decoder": bool(config.get("is_decoder") or config.get("add_cross_attention")),
        "it loads in another dtype than float32": config.get("dtype", config.get("torch_dtype"))
        not in (None, "float32"),
        "hidden_size is not a multiple of num_attention_heads": heads < 1 or hidden % heads != 0,
        "max_seq_length is past its position embeddings": plain[2] > int(config["max_position_embeddings"]),
    }
    if why := next((why for why, failed in checks.items() if failed), ""):
        return why
    tokenizer = bert_tokenizer(folder)
    return tokenizer if isinstance(tokenizer, str) else (folder, plain, config, tokenizer)


def _weights(folder: Path, config: dict[str, Any]) -> dict[str, np.ndarray]:
    """The BERT's weights by transformers' BertModel names (a "bert." prefix dropped); KeyError where one is
    missing, ValueError where one is not float32 or not of the shape config.json gives it."""
    from safetensors.numpy import load_file

    saved = load_file(str(folder / "model.safetensors"))
    if "embeddings.word_embeddings.weight" not in saved:
        saved = {name.removeprefix("bert."): w for name, w in saved.items() if name.startswith("bert.")}
    shapes = _shapes(config)
    weights = {name: saved[name] for name in shapes}
    if odd := [name for name, w in weights.items() if w.dtype != np.float32 or w.shape != shapes[name]]:
        raise ValueError(f"{odd[0]} is {weights[odd[0]].dtype} {weights[odd[0]].shape}, not float32 {shapes[odd[0]]}")
    return weights


def _shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Every weight the graph uses, and its shape (dense layers [out, in], as transformers keeps them)."""
    h, inner = int(config["hidden_size"]), int(config["intermediate_size"])
    tables = {"word": "vocab_size", "position": "max_position_embeddings", "token_type": "type_vocab_size"}
    shapes: dict[str, tuple[int, ...]] = {
        f"embeddings.{t}_embeddings.weight": (int(config[rows]), h) for t, rows in tables.items()
    }
    shapes |= {"embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,)}
    dense = {"attention.self.query": h, "attention.self.key": h, "attention.self.value": h}
    dense |= {"attention.output.dense": h, "intermediate.dense": inner, "output.dense": h}
    for i in range(int(config["num_hidden_layers"])):
        for name, out in dense.items():
            shapes[f"encoder.layer.{i}.{name}.weight"] = (out, inner if name == "output.dense" else h)
            shapes[f"encoder.layer.{i}.{name}.bias"] = (out,)
        for norm in ("attention.output", "output"):
            shapes |= {f"encoder.layer.{i}.{norm}.LayerNorm.{p}": (h,) for p in ("weight", "bias")}
    return shapes


class _Builder:
    """Nodes and constant initializers, each node's output named after its step."""

    def __init__(self) -> None:
        from onnx import helper

        self.helper = helper
        self.nodes: list[Any] = []
        self.constants: dict[str, np.ndarray] = {}

    def const(self, name: str, value: Any) -> str:
        self.constants[name] = np.asarray(value)
        return name

    def model(self, inputs: list[Any], outputs: list[Any]) -> Any:
        """The ModelProto, its initializers written straight into it: building 90 MB of TensorProtos apart and
        letting make_graph and make_model copy them cost 0.9 s."""
        graph = self.helper.make_graph(self.nodes, "sentence_embedding", inputs, outputs)
        opsets = [self.helper.make_opsetid("", OPSET)]
        proto = self.helper.make_model(graph, producer_name=PRODUCER, opset_imports=opsets)
        proto.ir_version = 8  # opset 17's IR version: what any onnxruntime that runs opset 17 reads
        for name, value in self.constants.items():
            tensor = proto.graph.initializer.add()
            tensor.name, tensor.data_type = name, self.helper.np_dtype_to_tensor_dtype(value.dtype)
            tensor.dims.extend(value.shape)
            tensor.raw_data = value.astype(value.dtype.newbyteorder("<"), copy=False).tobytes()
        return proto

    def op(self, kind: str, name: str, *inputs: str, **attributes: Any) -> str:
        self.nodes.append(self.helper.make_node(kind, list(inputs), [name], name=name, **attributes))
        return name

    def dense(self, x: str, prefix: str, weights: dict[str, np.ndarray]) -> str:
        """`x @ W + b` with W the [in, out] transpose of transformers' [out, in] weight."""
        w = self.const(f"{prefix}.weight", np.ascontiguousarray(weights[f"{prefix}.weight"].T))
        product = self.op("MatMul", f"{prefix}/MatMul", x, w)
        return self.op("Add", f"{prefix}/Add", product, self.const(f"{prefix}.bias", weights[f"{prefix}.bias"]))

    def heads(self, x: str, prefix: str, shape: str, perm: list[int], weights: dict[str, np.ndarray]) -> str:
        """A projection of `x` split into heads: [batch, heads, sequence, d], or [batch, heads, d, sequence] (keys)."""
        shaped = self.op("Reshape", f"{prefix}/Reshape", self.dense(x, prefix, weights), shape)
        return self.op("Transpose", f"{prefix}/Transpose", shaped, perm=perm)

    def norm(self, x: str, prefix: str, weights: dict[str, np.ndarray], eps: float) -> str:
        scale, bias = (self.const(f"{prefix}.{p}", weights[f"{prefix}.{p}"]) for p in ("weight", "bias"))
        return self.op("LayerNormalization", f"{prefix}/LayerNorm", x, scale, bias, axis=-1, epsilon=eps)


def _graph(weights: dict[str, np.ndarray], config: dict[str, Any], pooling: str, normalise: bool) -> Any:
    """The ModelProto: token ids, attention mask and token types to the sentence embedding."""
    from onnx import TensorProto

    g = _Builder()
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    ids, types, mask = "input_ids", "token_type_ids", "attention_mask"
    one = g.const("one", np.array(1.0, np.float32))

    # embeddings: word + token type + position (0 .. sequence - 1), normalised
    first, second = g.const("int_0", np.array(0, np.int64)), g.const("int_1", np.array(1, np.int64))
    length = g.op("Gather", "sequence", g.op("Shape", "ids_shape", ids), second)
    positions = g.op("Range", "positions", first, length, second)
    table = "embeddings.{}_embeddings.weight"
    words = g.op("Gather", "words", g.const(table.format("word"), weights[table.format("word")]), ids)
    kinds = g.op("Gather", "types", g.const(table.format("token_type"), weights[table.format("token_type")]), types)
    where = g.op("Gather", "where", g.const(table.format("position"), weights[table.format("position")]), positions)
    x = g.op("Add", "embedded", g.op("Add", "words_types", words, kinds), where)
    x = g.norm(x, "embeddings.LayerNorm", weights, eps)

    # the attention mask, additive: 0 where attended, float32's minimum where padding; [batch, 1, 1, sequence]
    kept = g.op("Cast", "mask_float", mask, to=TensorProto.FLOAT)
    dropped = g.op("Sub", "mask_dropped", one, kept)
    additive = g.op("Mul", "mask_additive", dropped, g.const("float_min", np.array(np.finfo(np.float32).min)))
    additive = g.op("Unsqueeze", "mask_bias", additive, g.const("axes_1_2", np.array([1, 2], np.int64)))

    split = g.const("heads_shape", np.array([0, 0, heads, hidden // heads], np.int64))
    merged = g.const("hidden_shape", np.array([0, 0, hidden], np.int64))
    scale = g.const("attention_scale", np.array(1.0 / np.sqrt(hidden // heads), np.float32))
    half = g.const("half", np.array(0.5, np.float32))
    root_half = g.const("root_half", np.array(np.sqrt(0.5), np.float32))
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        q, k, v = (
            g.heads(x, f"{p}.attention.self.{name}", split, perm, weights)
            for name, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]), ("value", [0, 2, 1, 3]))
        )
        scores = g.op("Mul", f"{p}/scores", g.op("MatMul", f"{p}/QK", q, k), scale)
        probs = g.op("Softmax", f"{p}/probs", g.op("Add", f"{p}/masked", scores, additive), axis=-1)
        context = g.op("Transpose", f"{p}/context_t", g.op("MatMul", f"{p}/PV", probs, v), perm=[0, 2, 1, 3])
        context = g.op("Reshape", f"{p}/context", context, merged)
        attended = g.op("Add", f"{p}/attention_residual", g.dense(context, f"{p}.attention.output.dense", weights), x)
        attended = g.norm(attended, f"{p}.attention.output.LayerNorm", weights, eps)
        inner = g.dense(attended, f"{p}.intermediate.dense", weights)
        erf = g.op("Erf", f"{p}/erf", g.op("Mul", f"{p}/scaled", inner, root_half))
        gelu = g.op("Mul", f"{p}/gelu", g.op("Mul", f"{p}/half", inner, half), g.op("Add", f"{p}/erf_1", erf, one))
        out = g.op("Add", f"{p}/output_residual", g.dense(gelu, f"{p}.output.dense", weights), attended)
        x = g.norm(out, f"{p}.output.LayerNorm", weights, eps)

    if pooling == "cls":
        embedding = g.op("Gather", "cls", x, first, axis=1)
    else:
        weight = g.op("Unsqueeze", "mask_weight", kept, g.const("axes_2", np.array([2], np.int64)))
        axis = g.const("axes_1", np.array([1], np.int64))
        total = g.op("ReduceSum", "token_sum", g.op("Mul", "masked_tokens", x, weight), axis, keepdims=0)
        count = g.op("ReduceSum", "token_count", weight, axis, keepdims=0)
        count = g.op("Max", "token_count_clamped", count, g.const("count_eps", np.array(1e-9, np.float32)))
        embedding = g.op("Div", "mean", total, count)
    if normalise:
        norm = g.op("ReduceL2", "norm", embedding, axes=[1], keepdims=1)
        norm = g.op("Max", "norm_clamped", norm, g.const("norm_eps", np.array(1e-12, np.float32)))
        embedding = g.op("Div", "normalised", embedding, norm)
    g.nodes.append(g.helper.make_node("Identity", [embedding], ["sentence_embedding"], name="sentence_embedding"))

    inputs = [g.helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in INPUTS]
    output = g.helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", hidden])
    return g.model(inputs, [output])
