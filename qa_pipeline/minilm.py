"""all-MiniLM-L6-v2 sentence embeddings in plain PyTorch, from the model folder the package ships.

The model is a six-layer BERT encoder followed by mean pooling over its tokens and L2
normalisation (the folder's ``modules.json``). It is run here with the ``tokenizers`` package
and a few torch functions rather than through sentence-transformers, whose import (transformers,
scikit-learn, …) costs several seconds of CPU in every process that scores a call, and which
pads each batch to its longest text.
The architecture is read from the folder's ``config.json``; a folder this code cannot run
exactly is refused rather than approximated.

A call's utterances run together, unpadded: every per-token step (the matrix products, which
are nearly all of the cost) sees one flat matrix of all their tokens, and only attention, the
one step that looks across tokens, runs per group of texts of one token count. No compute is
spent on padding and each weight matrix is read from memory once per call rather than once
per batch. The vectors agree with sentence-transformers' to about 3e-7, as closely as
sentence-transformers agrees with itself when the same text is batched with other texts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from qa_pipeline.errors import ModelError

if TYPE_CHECKING:
    import numpy as np

# Tokens run through the encoder at a time. Each run streams every weight matrix (about 40 MB)
# from memory once, so one call's utterances are best run together; the cap bounds the
# activations (about 25 kB a token) of a very long call.
_CHUNK_TOKENS = 4096


class MiniLM:
    """A BERT sentence encoder with mean pooling and unit-length output.

    Attributes:
        folder: The model folder (``config.json``, ``tokenizer.json``, weights).
        max_tokens: Tokens read per text, the [CLS] and [SEP] marks included; longer texts
            are cut.
        dim: Length of each embedding.
    """

    def __init__(self, folder: Path, max_tokens: int) -> None:
        """Read the model's configuration, tokenizer and weights.

        Args:
            folder: The model folder.
            max_tokens: Tokens read per text (see the attribute).

        Raises:
            ModelError: The folder is incomplete or holds a model this code cannot run.
        """
        from tokenizers import Tokenizer

        self.folder = folder
        self.max_tokens = max_tokens
        cfg = _read_json(folder / "config.json")
        _check_architecture(folder, cfg)
        self.dim = int(cfg["hidden_size"])
        self._heads = int(cfg["num_attention_heads"])
        self._layers = int(cfg["num_hidden_layers"])
        self._eps = float(cfg["layer_norm_eps"])
        if max_tokens > int(cfg["max_position_embeddings"]):
            raise ModelError(f"{folder}: the model reads at most {cfg['max_position_embeddings']} tokens")
        try:
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # the tokenizers package raises a bare Exception on a bad file
            raise ModelError(f"{folder}: cannot read tokenizer.json ({exc})") from exc
        # Padding is never wanted (texts are grouped by length); truncation matches the
        # sentence-transformers reading of max_seq_length: special tokens included.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer = tokenizer
        self._w = _load_weights(folder)

    def encode(self, texts: Sequence[str]) -> "np.ndarray":
        """Unit-length embeddings of texts, one float32 row each, in the order given.

        Runs on whatever number of threads torch is set to; the caller fixes it.
        """
        import numpy as np
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # One at a time: encode_batch spreads over a thread pool, and scoring keeps to one core.
        ids = [self._tokenizer.encode(t, add_special_tokens=True).ids for t in texts]
        order = sorted(range(len(texts)), key=lambda i: (len(ids[i]), i))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for part in _chunks(order, [len(ids[i]) for i in order], _CHUNK_TOKENS):
                out[part] = self._forward([ids[i] for i in part]).numpy()
        return out

    def _forward(self, rows: list[list[int]]) -> Any:
        """Pooled, normalised embeddings of token id rows sorted by length.

        The rows' tokens run as one flat (tokens × hidden) matrix, unpadded, through every
        per-token step; only attention looks across tokens, and it runs per run of rows of
        one length.
        """
        import torch
        import torch.nn.functional as F

        w = self._w
        dim, heads, eps = self.dim, self._heads, self._eps
        # (first token, rows, length) of each run of equal-length rows.
        groups: list[tuple[int, int, int]] = []
        at = 0
        for row in rows:
            if groups and groups[-1][2] == len(row):
                first, count, length = groups[-1]
                groups[-1] = (first, count + 1, length)
            else:
                groups.append((at, 1, len(row)))
            at += len(row)
        ids = torch.tensor([t for row in rows for t in row], dtype=torch.long)
        positions = torch.tensor([p for row in rows for p in range(len(row))], dtype=torch.long)
        # The same operations in the same order as the reference BERT implementation, so the
        # vectors agree with it to float32 rounding.
        x = F.embedding(ids, w["embeddings.word_embeddings.weight"])
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = x + F.embedding(positions, w["embeddings.position_embeddings.weight"])
        x = F.layer_norm(x, (dim,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        scale = (dim // heads) ** -0.5
        for i in range(self._layers):
            p = f"encoder.layer.{i}."
            # Query, key and value in one product (their weights stacked at load time).
            q, k, v = F.linear(x, w[p + "qkv.weight"], w[p + "qkv.bias"]).split(dim, dim=-1)
            parts = []
            for first, count, length in groups:
                span = slice(first, first + count * length)

                def split(y: Any) -> Any:
                    return y[span].view(count, length, heads, -1).transpose(1, 2)

                a = F.scaled_dot_product_attention(
                    split(q), split(k), split(v), attn_mask=None, dropout_p=0.0, scale=scale, is_causal=False
                )
                parts.append(a.transpose(1, 2).reshape(count * length, dim))
            a = torch.cat(parts) if len(parts) > 1 else parts[0]
            a = F.linear(a, w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"])
            x = F.layer_norm(a + x, (dim,), w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], eps)
            h = F.gelu(F.linear(x, w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"]))
            h = F.linear(h, w[p + "output.dense.weight"], w[p + "output.dense.bias"])
            x = F.layer_norm(h + x, (dim,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        # Mean over each row's tokens, written as sentence-transformers' masked mean is (with
        # every token present) so the arithmetic, hence the rounding, is the same.
        pooled = []
        for first, count, length in groups:
            tokens = x[first : first + count * length].view(count, length, dim)
            mask = torch.ones((count, length, 1), dtype=x.dtype)
            summed = (tokens * mask).sum(dim=1, dtype=torch.float32)
            pooled.append(summed / torch.clamp(mask.sum(dim=1, dtype=torch.float32), min=1e-9))
        return F.normalize(torch.cat(pooled), p=2, dim=-1)


def _chunks(items: list[int], sizes: list[int], limit: int) -> list[list[int]]:
    """Consecutive runs of items whose sizes add up to at most limit (an item alone may exceed it)."""
    out: list[list[int]] = []
    total = limit
    for item, size in zip(items, sizes):
        if total + size > limit:
            out.append([])
            total = 0
        out[-1].append(item)
        total += size
    return out


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from exc


def _check_architecture(folder: Path, cfg: Any) -> None:
    """Refuse a model folder whose encoder or pooling differs from what :class:`MiniLM` runs."""
    wanted = {
        "model_type": "bert",
        "hidden_act": "gelu",
        "position_embedding_type": "absolute",
    }
    for key, value in wanted.items():
        if cfg.get(key, value) != value:
            raise ModelError(f"{folder}: {key} {cfg.get(key)!r} is not supported (only {value!r})")
    if int(cfg["hidden_size"]) % int(cfg["num_attention_heads"]):
        raise ModelError(f"{folder}: hidden_size is not a multiple of num_attention_heads")
    modules = [m.get("type", "") for m in _read_json(folder / "modules.json")]
    if [m.rsplit(".", 1)[-1] for m in modules] != ["Transformer", "Pooling", "Normalize"]:
        raise ModelError(f"{folder}: modules {modules} are not transformer, pooling, normalize")
    pooling = _read_json(folder / "1_Pooling" / "config.json")
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise ModelError(f"{folder}: pooling {modes} is not supported (only mean pooling)")


def _load_weights(folder: Path) -> dict[str, Any]:
    """The encoder's tensors by name, from model.safetensors or else pytorch_model.bin."""
    import torch

    safetensors_file = folder / "model.safetensors"
    if safetensors_file.exists():
        from safetensors.torch import load_file

        tensors = load_file(str(safetensors_file))
    elif (folder / "pytorch_model.bin").exists():
        tensors = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise ModelError(f"{folder}: no model.safetensors or pytorch_model.bin")
    # Some exports name the encoder's tensors under the task model ("bert.embeddings…").
    weights = {k.removeprefix("bert."): v.float() for k, v in tensors.items()}
    if "embeddings.word_embeddings.weight" not in weights:
        raise ModelError(f"{folder}: the weights hold no BERT encoder")
    for prefix in sorted({k.rsplit("attention.self.", 1)[0] for k in weights if "attention.self.query." in k}):
        names = [f"{prefix}attention.self.{n}" for n in ("query", "key", "value")]
        for part in ("weight", "bias"):
            weights[f"{prefix}qkv.{part}"] = torch.cat([weights.pop(f"{n}.{part}") for n in names]).contiguous()
    return weights
