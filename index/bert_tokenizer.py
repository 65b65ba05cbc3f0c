"""A BERT model's tokenizer.json, loaded with `tokenizers` alone, where it is provably what the torch export saves.

The torch export saves `AutoTokenizer.from_pretrained(folder).backend_tokenizer`. For a BERT that is transformers'
`BertTokenizer`, which does not take tokenizer.json as it is: it rebuilds the WordPiece model, normaliser,
pre-tokeniser, decoder and post-processor from the file's vocabulary and tokenizer_config.json (do_lower_case,
strip_accents, ...), adds any special token the file lacks, and keeps the file's padding and truncation. So the
file alone is the same tokenizer exactly where each of those parts, rebuilt here as BertTokenizer rebuilds them,
equals the file's: then it is loaded and saved unchanged (for the packaged MiniLM the saved bytes are the torch
path's, tests/engine/test_bert_graph.py). Anywhere else `bert_tokenizer` says why not, and the export uses torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, processors

from .torch_model import read_json

BERT_TOKENIZERS = (None, "BertTokenizer", "BertTokenizerFast")
SPECIALS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
INPUTS = ["input_ids", "token_type_ids", "attention_mask"]  # BertTokenizer's model_input_names, in its order
# tokenizer_config.json keys BertTokenizer acts on that are not modelled here: a model that sets one is exported with torch
_UNMODELLED = ("model_input_names", "split_special_tokens", "additional_special_tokens", "extra_special_tokens")
_ADDED_FIELDS = ("content", "lstrip", "rstrip", "normalized", "single_word", "special")


@dataclass
class BertTokenizerFile:
    """The loaded tokenizer, and what encoder.json records beside it."""

    tokenizer: Tokenizer
    pad_token: str
    pad_id: int


def bert_tokenizer(folder: Path) -> BertTokenizerFile | str:
    """The folder's tokenizer.json when it equals what BertTokenizer makes of the folder; else why not."""
    try:
        config = read_json(folder / "tokenizer_config.json")
        special_map = read_json(folder / "special_tokens_map.json")
        raw = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as exc:  # OSError, ValueError, and the plain Exception tokenizers raises on a bad file
        return f"no readable tokenizer.json ({type(exc).__name__}: {exc})"
    if config.get("tokenizer_class") not in BERT_TOKENIZERS:
        return f"tokenizer class {config.get('tokenizer_class')!r} is not BertTokenizer"
    if unmodelled := [key for key in _UNMODELLED if config.get(key) or special_map.get(key)]:
        return f"tokenizer_config.json sets {unmodelled[0]}"
    specials = {key: _content(config.get(key, special_map.get(key, default))) for key, default in SPECIALS.items()}
    if any(key in special_map and _content(special_map[key]) != specials[key] for key in SPECIALS):
        return "special_tokens_map.json and tokenizer_config.json name different special tokens"
    if problem := _rebuilt_differs(raw, tokenizer, config, specials):
        return problem
    pad = specials["pad_token"]
    padding = tokenizer.padding
    pad_id = int(padding["pad_id"]) if padding else int(tokenizer.token_to_id(pad) or 0)
    return BertTokenizerFile(tokenizer, pad, pad_id)


def _rebuilt_differs(
    raw: dict[str, Any], tokenizer: Tokenizer, config: dict[str, Any], specials: dict[str, str]
) -> str:
    """Which part of the file BertTokenizer would build differently from `config`, or "" when none would."""
    model = raw.get("model") or {}
    wordpiece: dict[str, Any] = {"type": "WordPiece", "unk_token": specials["unk_token"]}
    wordpiece.update(continuing_subword_prefix="##", max_input_chars_per_word=100)  # BertTokenizer's defaults
    if {key: model.get(key) for key in wordpiece} != wordpiece:
        return "its WordPiece model differs from BertTokenizer's"
    normalizer = {
        "type": "BertNormalizer",
        "clean_text": True,
        "handle_chinese_chars": config.get("tokenize_chinese_chars", True),
        "strip_accents": config.get("strip_accents"),
        "lowercase": config.get("do_lower_case", True),
    }
    if raw.get("normalizer") != normalizer:
        return "its normaliser differs from the one tokenizer_config.json asks for"
    if raw.get("pre_tokenizer") != {"type": "BertPreTokenizer"}:
        return "its pre-tokeniser is not BertPreTokenizer"
    if (raw.get("decoder") or {}).get("type") != "WordPiece" or (raw.get("decoder") or {}).get("prefix") != "##":
        return "its decoder is not WordPiece"
    added = {int(token["id"]): token for token in raw.get("added_tokens") or []}
    by_content = {str(token["content"]): token for token in added.values()}
    if any(not by_content.get(token, {}).get("special") for token in specials.values()):
        return "a special token is not among its added tokens"  # BertTokenizer would add it
    for key, token in (config.get("added_tokens_decoder") or {}).items():
        fields = {field: token.get(field) for field in _ADDED_FIELDS}
        if {field: added.get(int(key), {}).get(field) for field in _ADDED_FIELDS} != fields:
            return f"tokenizer_config.json's added token {key} differs from its"
    cls, sep = specials["cls_token"], specials["sep_token"]
    template = processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0",
        pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, tokenizer.token_to_id(cls)), (sep, tokenizer.token_to_id(sep))],
    )
    post = tokenizer.post_processor
    if post is None or json.loads(post.__getstate__()) != json.loads(template.__getstate__()):
        return "its post-processor is not BertTokenizer's [CLS] ... [SEP] template"
    return ""


def _content(token: Any) -> str:
    """A special token as tokenizer_config.json writes it: a string, or an AddedToken's fields."""
    return str(token.get("content", "")) if isinstance(token, dict) else str(token)
