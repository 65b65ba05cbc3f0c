"""The torch-free export of a plain BERT (`index.bert_graph`): sentence-transformers' vectors, the torch path's
tokenizer and encoder.json, the shape the int8 quantiser expects, and torch for whatever it cannot write."""

from __future__ import annotations

import json
import logging
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from tokenizers import Tokenizer

from index.adapter import SHIPPED
from index.bert_graph import PRODUCER, write_bert_graph
from index.bert_tokenizer import INPUTS, bert_tokenizer
from index.embedder import DEFAULT_MODEL, Encoder, load_sentence_transformer, model_folder
from index.onnx_encoder import ENCODER_JSON, MODEL_FILES, TOKENIZER_JSON, OnnxEncoder, cpu_session
from index.onnx_export import _trace, ensure_export

from ..conftest import ROOT

MAX_DIFFERENCE = 1e-5  # largest difference in any coordinate from sentence-transformers' embedding
FOLDER = model_folder(DEFAULT_MODEL)
assert FOLDER is not None


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Short, long (truncated at max_seq_length), accented, CJK, emoji, special-token-like and empty texts."""
    return [
        "",
        "hi",
        "a",
        "How many White Helmets are still trapped in Syria?",
        "Ünïcödé café naïve — “quoted” 115,000 lives? Ça va, Zoë.",
        "北京欢迎你 and Tōkyō 東京 🚀🙂",
        "[CLS] a [SEP] inside [MASK] the [PAD] text [UNK]",
        "   spaces\tand\nnew\r\nlines   ",
        "don't stop-believing: e-mail@example.com 3.14159 #hashtag",
        " ".join(["The evacuation began at dawn, officials said."] * 60),  # far past 256 tokens
        " ".join(["word"] * 254),  # 256 tokens with [CLS] and [SEP]: just not truncated
        " ".join(["word"] * 255),  # truncated by one
    ]


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Torch-free fp32 exports of the packaged model with its shipped adapter ("auto") and without ("none")."""
    root = tmp_path_factory.mktemp("bert-graph")
    return {a: ensure_export(DEFAULT_MODEL, root / a, "fp32", adapter=a) for a in ("auto", "none")}


def _padded_run(export: Path, texts: list[str]) -> np.ndarray:
    """All `texts` in one batch padded to the longest (OnnxEncoder sorts by length and pads little)."""
    info = json.loads((export / ENCODER_JSON).read_text())
    tok = Tokenizer.from_file(str(export / TOKENIZER_JSON))
    tok.enable_truncation(info["max_seq_length"])
    tok.enable_padding(pad_id=info["pad_id"], pad_token=info["pad_token"])
    encodings = tok.encode_batch(texts)
    feed = {
        "input_ids": np.array([e.ids for e in encodings], np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], np.int64),
    }
    assert feed["attention_mask"].min() == 0  # the batch really has padding
    return cpu_session(export / MODEL_FILES["fp32"]).run(None, feed)[0]


@pytest.mark.parametrize("adapter", ["auto", "none"])
def test_the_graph_embeds_as_sentence_transformers_does(
    adapter: str, exports: dict[str, Path], encoder: Encoder, texts: list[str]
) -> None:
    export = exports[adapter]
    assert onnx.load(str(export / MODEL_FILES["fp32"]), load_external_data=False).producer_name == PRODUCER
    if adapter == "auto":
        assert encoder.adapter == SHIPPED.name == json.loads((export / ENCODER_JSON).read_text())["adapter"]
        reference = encoder.encode(texts)
    else:
        reference = load_sentence_transformer(DEFAULT_MODEL, "none").encode(texts, convert_to_numpy=True)
    for batch_size in (1, 4, 64):
        served = OnnxEncoder(export, "fp32").encode(texts, batch_size=batch_size)
        assert np.abs(served - reference).max() < MAX_DIFFERENCE, batch_size
    assert np.abs(_padded_run(export, texts) - reference).max() < MAX_DIFFERENCE


def test_cls_pooling_without_normalisation_too(tmp_path: Path, texts: list[str]) -> None:
    """The other plain kind: the first token's vector, not normalised (modules.json without Normalize)."""

    def cls_unnormalised(folder: Path) -> None:
        _edit_json("1_Pooling/config.json", pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)(folder)
        modules = json.loads((folder / "modules.json").read_text())[:2]
        (folder / "modules.json").write_text(json.dumps(modules))

    model = _copy(tmp_path, cls_unnormalised)
    export = ensure_export(str(model), tmp_path / "export", "fp32", adapter="none")
    assert onnx.load(str(export / MODEL_FILES["fp32"]), load_external_data=False).producer_name == PRODUCER
    reference = load_sentence_transformer(str(model), "none").encode(texts, convert_to_numpy=True)
    assert np.linalg.norm(reference, axis=1).min() > 1.5  # really not normalised
    ours = cpu_session(export / MODEL_FILES["fp32"])
    tok = Tokenizer.from_file(str(export / TOKENIZER_JSON))
    tok.enable_truncation(256)
    for text, row in zip(texts, reference):
        e = tok.encode(text)
        feed = {n: np.array([v], np.int64) for n, v in zip(INPUTS, (e.ids, e.type_ids, e.attention_mask))}
        assert np.abs(ours.run(None, feed)[0][0] - row).max() < MAX_DIFFERENCE * np.abs(row).max()


def test_the_adapter_moves_the_vectors(exports: dict[str, Path], texts: list[str]) -> None:
    merged, plain = (OnnxEncoder(exports[a], "fp32").encode(texts) for a in ("auto", "none"))
    assert np.sum(merged * plain, axis=1).min() < 0.99


def _many_texts(texts: list[str]) -> list[str]:
    """Thousands of varied lines: the repo's docs and stories (prose, code, tables, symbols), the model card, and
    seeded jumbles of vocabulary pieces (## continuations, special tokens, accents, CJK) and odd characters."""
    files = [*sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "content").glob("*.txt")), FOLDER / "README.md"]
    lines = [line for path in files for line in path.read_text(encoding="utf-8").splitlines() if line]
    vocab = (FOLDER / "vocab.txt").read_text(encoding="utf-8").splitlines()
    odd = ["\u00a0", "\u200b", "\t", "é", "É", "ß", "İ", "ﬁ", "①", "½", "北", "😀", "\u0301", "--", "...", "'s", "n't"]
    rng = random.Random(0)
    jumbles = [
        "".join(
            rng.choice(vocab if rng.random() < 0.7 else odd) + rng.choice(["", " ", "  ", "-", "."])
            for _ in range(rng.randint(1, 40))
        )
        for _ in range(1000)
    ]
    return [*texts, *lines, *jumbles]


def test_tokenizer_and_encoder_json_are_the_torch_paths(
    tmp_path: Path, exports: dict[str, Path], texts: list[str]
) -> None:
    """The torch path's tokenizer.json byte for byte, the same encodings of thousands of texts, and the same
    encoder.json fields."""
    from transformers import AutoTokenizer

    traced = _trace(DEFAULT_MODEL, "auto", tmp_path)
    ours = json.loads((exports["auto"] / ENCODER_JSON).read_text())
    assert {key: ours[key] for key in traced} == traced
    assert (tmp_path / TOKENIZER_JSON).read_bytes() == (exports["auto"] / TOKENIZER_JSON).read_bytes()

    many = _many_texts(texts)
    assert len(many) > 2000
    theirs = AutoTokenizer.from_pretrained(FOLDER, local_files_only=True)(
        many, truncation="longest_first", max_length=ours["max_seq_length"]
    )
    tokenizer = Tokenizer.from_file(str(exports["auto"] / TOKENIZER_JSON))
    tokenizer.enable_truncation(ours["max_seq_length"])  # as OnnxEncoder serves
    tokenizer.no_padding()
    encodings = tokenizer.encode_batch(many)
    assert [e.ids for e in encodings] == theirs["input_ids"]
    assert [e.type_ids for e in encodings] == theirs["token_type_ids"]
    assert [e.attention_mask for e in encodings] == theirs["attention_mask"]


def test_every_dense_layer_is_a_matmul_by_a_constant_then_an_add(exports: dict[str, Path]) -> None:
    """What the int8 quantiser relies on: MatMul(activation, W) with W an [in, out] initializer, then Add(bias)."""
    model = onnx.load(str(exports["auto"] / MODEL_FILES["fp32"]))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == 17
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    consumers = {name: node for node in model.graph.node for name in node.input}
    dense = [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in constants]
    assert len(dense) == 6 * 6  # query, key, value, attention output, intermediate, output in each of 6 layers
    for node in dense:
        w = constants[node.input[1]]
        add = consumers[node.output[0]]
        assert w.ndim == 2 and add.op_type == "Add" and add.input[0] == node.output[0]
        assert constants[add.input[1]].shape == (w.shape[1],)
    assert {n.op_type for n in model.graph.node} <= {
        *("Gather", "Shape", "Range", "Add", "Sub", "Mul", "Div", "Max", "Cast", "Unsqueeze", "Reshape", "Transpose"),
        *("MatMul", "Softmax", "Erf", "LayerNormalization", "ReduceSum", "ReduceL2", "Identity"),
    }
    gathered = {n.input[0] for n in model.graph.node if n.op_type == "Gather" and n.input[0] in constants}
    assert len(gathered) == 3  # the word, token-type and position tables


def _copy(tmp_path: Path, edit: Callable[[Path], Any]) -> Path:
    """A copy of the packaged model's folder (its weights linked), changed by `edit`."""
    copy = tmp_path / "model"
    shutil.copytree(FOLDER, copy, ignore=shutil.ignore_patterns("model.safetensors"))
    (copy / "model.safetensors").symlink_to(FOLDER / "model.safetensors")
    edit(copy)
    return copy


def _edit_json(name: str, **changes: Any) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))

    return edit


def _fp16_weights(folder: Path) -> None:
    from safetensors.numpy import load_file, save_file

    (folder / "model.safetensors").unlink()
    weights = load_file(str(FOLDER / "model.safetensors"))
    save_file(
        {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in weights.items()},
        str(folder / "model.safetensors"),
    )


def _dense_module(folder: Path) -> None:
    modules = json.loads((folder / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        pytest.param(
            _edit_json("1_Pooling/config.json", pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True),
            "not a plain",
            id="max-pooling",
        ),
        pytest.param(_dense_module, "not a plain", id="dense"),
        pytest.param(_edit_json("config.json", model_type="roberta"), "model_type", id="roberta"),
        pytest.param(_edit_json("config.json", hidden_act="gelu_new"), "hidden_act", id="gelu-new"),
        pytest.param(_edit_json("config.json", position_embedding_type="relative_key"), "position", id="relative"),
        # transformers would not lowercase, whatever tokenizer.json says
        pytest.param(_edit_json("tokenizer_config.json", do_lower_case=False), "normaliser", id="cased"),
        pytest.param(_edit_json("tokenizer_config.json", tokenizer_class="DistilBertTokenizer"), "class", id="distil"),
        pytest.param(_edit_json("special_tokens_map.json", pad_token="<pad>"), "special tokens", id="pad"),
        pytest.param(_fp16_weights, "float16", id="fp16"),
        pytest.param(_edit_json("config.json", intermediate_size=1024), "(1024, 384)", id="shape"),
        pytest.param(_edit_json("sentence_bert_config.json", max_seq_length=1024), "position embeddings", id="long"),
    ],
)
def test_what_it_cannot_write_it_leaves_to_torch(
    tmp_path: Path, edit: Callable[[Path], Any], why: str, caplog: pytest.LogCaptureFixture
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    with caplog.at_level(logging.INFO, logger="index.bert_graph"):
        assert write_bert_graph(str(_copy(tmp_path, edit)), None, staging) is None
    assert not any(staging.iterdir())
    assert why in caplog.text and "with torch" in caplog.text


def test_the_tokenizer_check_is_needed(tmp_path: Path) -> None:
    """Where tokenizer_config.json contradicts tokenizer.json, transformers (so the torch path) tokenises otherwise."""
    from transformers import AutoTokenizer

    cased = _copy(tmp_path, _edit_json("tokenizer_config.json", do_lower_case=False))
    theirs = AutoTokenizer.from_pretrained(cased, local_files_only=True)("Hello World")["input_ids"]
    plain = bert_tokenizer(FOLDER)
    assert not isinstance(plain, str) and plain.tokenizer.encode("Hello World").ids != theirs
    assert isinstance(bert_tokenizer(cased), str)


def test_a_model_that_is_not_plain_is_traced_with_torch(tmp_path: Path, texts: list[str]) -> None:
    """Max pooling: the export falls back to the torch trace, and that still gives sentence-transformers' vectors."""
    pooled = _copy(
        tmp_path, _edit_json("1_Pooling/config.json", pooling_mode_mean_tokens=False, pooling_mode_max_tokens=True)
    )
    export = ensure_export(str(pooled), tmp_path / "export", "fp32", adapter="none")
    assert onnx.load(str(export / MODEL_FILES["fp32"]), load_external_data=False).producer_name == "pytorch"
    reference = load_sentence_transformer(str(pooled), "none").encode(texts[:6], convert_to_numpy=True)
    assert np.abs(OnnxEncoder(export, "fp32").encode(texts[:6]) - reference).max() < 1e-4


def test_the_torch_free_export_never_imports_torch(tmp_path: Path) -> None:
    script = (
        "import sys, json; from pathlib import Path; from index.onnx_export import ensure_export; "
        f"ensure_export({DEFAULT_MODEL!r}, Path({str(tmp_path / 'export')!r}), 'fp32'); "
        "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    model = onnx.load(str(tmp_path / "export" / MODEL_FILES["fp32"]), load_external_data=False)
    info = json.loads((tmp_path / "export" / ENCODER_JSON).read_text())
    assert model.producer_name == PRODUCER and info["adapter"] == SHIPPED.name  # the default export, adapter merged
