"""The embedding model on torch, as the ONNX export traces it: with transformers alone where that is enough.

Loading sentence-transformers costs far more than the model (it imports much of the ML stack: 27 s against
transformers' 3 s on the busy 2-core machine, 38 s against 21 s with the model loaded). Most sentence-transformers
models, the packaged MiniLM among them, are a transformer, a pooling and a normalisation, which are a few lines
of torch: for those `load_traceable` builds the same module from `transformers.AutoModel` and the model folder's
own configuration files (`modules.json`, `sentence_bert_config.json`, `1_Pooling/config.json`). Anything else
(dense layers, other poolings, custom modules) is loaded with sentence-transformers, as before. Either way the
traced graph maps token ids to the sentence embedding, and tests/engine/test_onnx.py holds the export to
sentence-transformers' own output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .embedder import ADAPTER_AUTO, load_sentence_transformer, model_folder, resolve_adapter
from .errors import AdapterError, ModelNotFound
from .offline import hub_offline

_PLAIN = (
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
)
_POOLINGS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


@dataclass
class Traceable:
    """A module from tokenizer features (a dict of 2-D tensors) to {"sentence_embedding": ...}, and what the
    export records beside it."""

    module: Any  # torch.nn.Module
    tokenizer: Any  # a transformers fast tokenizer
    dimension: int
    max_seq_length: int
    do_lower_case: bool
    prompt: str

    def features(self, texts: list[str]) -> dict[str, Any]:
        """Tokenised `texts`, as sentence-transformers tokenises them (padded, truncated), as torch tensors."""
        return dict(
            self.tokenizer(
                texts, padding=True, truncation="longest_first", max_length=self.max_seq_length, return_tensors="pt"
            )
        )


def load_traceable(model: str, adapter: str | None = ADAPTER_AUTO) -> Traceable:
    """`model` (its adapter merged) ready to trace: with transformers alone when it is the plain kind."""
    folder = model_folder(model)
    plain = plain_config(folder) if folder is not None else None
    if plain is None or folder is None:
        return _from_sentence_transformers(model, adapter)
    return _from_transformers(model, folder, adapter, *plain)


def plain_config(folder: Path) -> tuple[str, bool, int, bool, str] | None:
    """(pooling, normalise, max_seq_length, do_lower_case, prompt) when `folder` holds a plain model, else None."""
    try:
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
        kinds = [m["type"] for m in modules]
        if kinds not in (list(_PLAIN), list(_PLAIN[:2])) or modules[0]["path"] not in ("", "."):
            return None
        pooling = json.loads((folder / modules[1]["path"] / "config.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        prompts = read_json(folder / "config_sentence_transformers.json")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    modes = [name for key, name in _POOLINGS.items() if pooling.get(key)]
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v and k not in _POOLINGS]
    if len(modes) != 1 or others or pooling.get("include_prompt") is False or "max_seq_length" not in config:
        return None
    default = prompts.get("default_prompt_name")
    prompt = str((prompts.get("prompts") or {}).get(default, "")) if default else ""
    normalise = len(kinds) == 3
    return modes[0], normalise, int(config["max_seq_length"]), bool(config.get("do_lower_case", False)), prompt


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    value = json.loads(path.read_text(encoding="utf-8"))
    return value if isinstance(value, dict) else {}


def _from_transformers(
    model: str, folder: Path, adapter: str | None, pooling: str, normalise: bool, length: int, lower: bool, prompt: str
) -> Traceable:
    import torch

    hub_offline()
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        network = AutoModel.from_pretrained(folder, local_files_only=True)
    except Exception as exc:
        raise ModelNotFound(f"cannot load embedding model {model!r} offline ({type(exc).__name__}: {exc})") from exc
    adapter_path = resolve_adapter(model, adapter)
    if adapter_path is not None:
        from .adapter import merge_into

        try:
            merge_into(network, adapter_path)
        except AdapterError as exc:
            raise ModelNotFound(f"{exc}; or set MODEL_ADAPTER=none") from exc

    class Pooled(torch.nn.Module):
        """The transformer, then sentence-transformers' pooling and normalisation, in its arithmetic."""

        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            hidden = self.network(**features, return_dict=False)[0]
            if pooling == "cls":
                embedding = hidden[:, 0]
            else:
                mask = features["attention_mask"].unsqueeze(-1).expand(hidden.size()).to(hidden.dtype)
                embedding = (hidden * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
            if normalise:
                embedding = torch.nn.functional.normalize(embedding, p=2, dim=1)
            return {"sentence_embedding": embedding}

    dimension = int(network.config.hidden_size)
    return Traceable(Pooled().eval(), tokenizer, dimension, length, lower, prompt)


def _from_sentence_transformers(model: str, adapter: str | None) -> Traceable:
    st = load_sentence_transformer(model, adapter)
    prompt = st.prompts.get(st.default_prompt_name, "") if getattr(st, "default_prompt_name", None) else ""
    return Traceable(
        module=st,
        tokenizer=st.tokenizer,
        dimension=int(st.get_embedding_dimension()),
        max_seq_length=int(st.max_seq_length),
        do_lower_case=bool(getattr(st[0], "do_lower_case", False)),
        prompt=prompt,
    )
