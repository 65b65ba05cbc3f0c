"""int8 quantisation of an fp32 ONNX export, one activation scale per token, so a text's vector never depends on
its batch-mates.

onnxruntime's `quantize_dynamic` gives each MatMul input one scale for the whole batch (`DynamicQuantizeLinear`):
a question's int8 vector then moved with the questions encoded beside it (cosine 0.99), which changed 7 of 256
answers, so `ask --batch` had to encode every question alone, at 3 ms each. Here every dense layer's input is
quantised row by row (each token on its own, symmetric around zero: `uint8` with zero point 128), its weights per
output column (`int8`, symmetric), and the product is `MatMulInteger` (exact, int32) scaled back per row and
per column. Every other operation in a BERT works token by token or within one text, so a text gives the same
vector alone or in a batch of texts of its own token length (see `OnnxEncoder.encode`), bit for bit.
Embedding tables are stored as int8 rows with a scale per row (the file is a quarter of fp32's).

The rewrite is plain numpy and `onnx.helper` over the fp32 graph (about a second): a `MatMul` whose second
input is a 2-D constant is quantised, as is a `Gather` from a 2-D constant table; the rest is left as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

ZERO_POINT = 128  # uint8 activations, symmetric: q = round(x / scale) + 128, scale = max|x| / 127 per row
LEVELS = 127.0
SMALLEST_SCALE = 1e-12  # an all-zero row: any scale quantises it to the zero point


def quantize_rows(source: Path, target: Path) -> None:
    """Write to `target` the int8 version of the fp32 ONNX model `source` (see the module docstring)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    constants = {t.name: t for t in graph.initializer}
    token_sums = _token_sums(model)
    arrays: dict[str, np.ndarray] = {}

    def weight(name: str) -> np.ndarray | None:
        if name not in constants or constants[name].data_type != TensorProto.FLOAT:
            return None
        if name not in arrays:
            arrays[name] = numpy_helper.to_array(constants[name])
        return arrays[name] if arrays[name].ndim == 2 else None

    nodes: list[Any] = []
    added: list[Any] = []
    quantised_inputs: dict[str, tuple[str, str, str]] = {}  # activation -> (uint8 rows, row scales, leading shape)
    replaced: set[str] = set()
    shared = _shared_constants(helper, numpy_helper)
    added += shared.values()

    def quantised(activation: str, width: int) -> tuple[str, str, str]:
        """The activation as uint8 rows [tokens, width], their scales [tokens, 1], and its leading shape."""
        if activation not in quantised_inputs:
            p = f"{activation}/rowq"
            nodes.extend(
                [
                    helper.make_node(
                        "Constant", [], [f"{p}/flat_shape"], value=_ints(numpy_helper, f"{p}/fs", [-1, width])
                    ),
                    helper.make_node("Reshape", [activation, f"{p}/flat_shape"], [f"{p}/flat"]),
                    helper.make_node("Shape", [activation], [f"{p}/leading"], end=-1),
                    helper.make_node("Abs", [f"{p}/flat"], [f"{p}/abs"]),
                    helper.make_node("ReduceMax", [f"{p}/abs"], [f"{p}/max"], axes=[-1], keepdims=1),
                    helper.make_node("Mul", [f"{p}/max", "rowq/inverse_levels"], [f"{p}/raw_scale"]),
                    helper.make_node("Max", [f"{p}/raw_scale", "rowq/smallest_scale"], [f"{p}/scale"]),
                    helper.make_node("Reshape", [f"{p}/scale", "rowq/vector"], [f"{p}/scale_vector"]),
                    helper.make_node("Shape", [f"{p}/scale_vector"], [f"{p}/tokens"]),
                    helper.make_node("Expand", ["rowq/zero_point", f"{p}/tokens"], [f"{p}/zero_points"]),
                    helper.make_node(
                        "QuantizeLinear", [f"{p}/flat", f"{p}/scale_vector", f"{p}/zero_points"], [f"{p}/q"], axis=0
                    ),
                ]
            )
            quantised_inputs[activation] = (f"{p}/q", f"{p}/scale", f"{p}/leading")
        return quantised_inputs[activation]

    for node in graph.node:
        rows_of_table = node.op_type == "Gather" and len(node.input) == 2 and _axis(node) == 0
        table = weight(node.input[0]) if rows_of_table else None
        matrix = weight(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if matrix is not None:
            name = node.input[1]
            if name not in replaced:  # a weight two MatMuls share is stored once
                scales = np.maximum(np.abs(matrix).max(axis=0) / LEVELS, SMALLEST_SCALE).astype(np.float32)
                codes = np.clip(np.round(matrix / scales), -LEVELS, LEVELS).astype(np.int8)
                added += [
                    numpy_helper.from_array(codes, f"{name}/int8"),
                    numpy_helper.from_array(scales, f"{name}/scales"),
                ]
                replaced.add(name)
            rows, row_scales, leading = quantised(node.input[0], matrix.shape[0])
            out, p = node.output[0], f"{node.output[0]}/rowq"
            width = _ints(numpy_helper, f"{p}/width", [matrix.shape[1]])
            nodes.extend(
                [
                    helper.make_node(
                        "MatMulIntegerToFloat",
                        [rows, f"{name}/int8", "rowq/unit", f"{name}/scales", "rowq/zero_point"],
                        [f"{p}/columns"],
                        domain="com.microsoft",
                    ),
                    helper.make_node("Mul", [f"{p}/columns", row_scales], [f"{p}/flat"]),
                    helper.make_node("Constant", [], [f"{p}/width"], value=width),
                    helper.make_node("Concat", [leading, f"{p}/width"], [f"{p}/shape"], axis=0),
                    helper.make_node("Reshape", [f"{p}/flat", f"{p}/shape"], [out]),
                ]
            )
        elif table is not None:
            name = node.input[0]
            if name not in replaced:
                scales = np.maximum(np.abs(table).max(axis=1, keepdims=True) / LEVELS, SMALLEST_SCALE)
                codes = np.clip(np.round(table / scales), -LEVELS, LEVELS).astype(np.int8)
                added += [
                    numpy_helper.from_array(codes, f"{name}/int8"),
                    numpy_helper.from_array(scales.astype(np.float32), f"{name}/scales"),
                ]
                replaced.add(name)
            out, p = node.output[0], f"{node.output[0]}/rowq"
            nodes.extend(
                [
                    helper.make_node("Gather", [f"{name}/int8", node.input[1]], [f"{p}/codes"]),
                    helper.make_node("Gather", [f"{name}/scales", node.input[1]], [f"{p}/scales"]),
                    helper.make_node("Cast", [f"{p}/codes"], [f"{p}/float"], to=TensorProto.FLOAT),
                    helper.make_node("Mul", [f"{p}/float", f"{p}/scales"], [out]),
                ]
            )
        elif node.output[0] in token_sums:
            nodes.extend(_sum_by_matmul(helper, node))
        else:
            nodes.append(node)
    still_used = {name for node in nodes for name in node.input}
    kept = [t for t in graph.initializer if t.name not in replaced or t.name in still_used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(target))


def _token_sums(model: Any) -> set[str]:
    """Outputs of `ReduceSum` over axis 1 of a 3-D float tensor (mean pooling's sum over tokens).

    onnxruntime sums a batch of one on another path than a batch of several (the last bit differs), so these
    become a product with a row of ones, which is computed text by text whatever the batch.
    """
    import onnx
    from onnx import TensorProto, numpy_helper

    inferred = onnx.shape_inference.infer_shapes(model)
    known = {v.name: v.type.tensor_type for v in [*inferred.graph.value_info, *inferred.graph.input]}
    constant = {
        n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in model.graph.node if n.op_type == "Constant"
    }
    constant.update({t.name: numpy_helper.to_array(t) for t in model.graph.initializer})
    found = set()
    for node in model.graph.node:
        kind = known.get(node.input[0]) if node.op_type == "ReduceSum" and len(node.input) == 2 else None
        axes = constant.get(node.input[1]) if kind is not None else None
        keep = next((int(a.i) for a in node.attribute if a.name == "keepdims"), 1)
        if (
            kind is not None
            and kind.elem_type == TensorProto.FLOAT
            and len(kind.shape.dim) == 3
            and axes is not None
            and [int(a) for a in np.ravel(axes)] in ([1], [-2])
            and keep == 0
        ):
            found.add(node.output[0])
    return found


def _sum_by_matmul(helper: Any, node: Any) -> list[Any]:
    """`node`'s sum over axis 1 of [batch, tokens, width], as ones[1, tokens] @ x, squeezed to [batch, width]."""
    x, p = node.input[0], f"{node.output[0]}/rowq"
    return [
        helper.make_node("Shape", [x], [f"{p}/tokens"], start=1, end=2),
        helper.make_node("Concat", ["rowq/one", f"{p}/tokens"], [f"{p}/shape"], axis=0),
        helper.make_node("ConstantOfShape", [f"{p}/shape"], [f"{p}/ones"], value=_one()),
        helper.make_node("MatMul", [f"{p}/ones", x], [f"{p}/sums"]),
        helper.make_node("Squeeze", [f"{p}/sums", "rowq/one"], [node.output[0]]),
    ]


def _ints(numpy_helper: Any, name: str, values: list[int]) -> Any:
    return numpy_helper.from_array(np.array(values, np.int64), name)


def _axis(node: Any) -> int:
    return next((int(a.i) for a in node.attribute if a.name == "axis"), 0)


def _shared_constants(helper: Any, numpy_helper: Any) -> dict[str, Any]:
    values = {
        "rowq/inverse_levels": np.array(1.0 / LEVELS, np.float32),
        "rowq/smallest_scale": np.array(SMALLEST_SCALE, np.float32),
        "rowq/zero_point": np.array(ZERO_POINT, np.uint8),
        "rowq/vector": np.array([-1], np.int64),
        "rowq/unit": np.array(1.0, np.float32),
        "rowq/one": np.array([1], np.int64),
    }
    return {name: numpy_helper.from_array(value, name) for name, value in values.items()}


def _one() -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array([1.0], np.float32), "one")
