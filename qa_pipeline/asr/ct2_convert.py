"""Read CTranslate2 Whisper models and rewrite them as openai-whisper checkpoints.

The bundled tiny.en model ships in CTranslate2's format (``model.bin`` + ``config.json``), the
only Whisper weights available offline. openai-whisper needs a PyTorch checkpoint instead, so
this module parses ``model.bin`` with numpy alone and renames, unfuses and saves the weights in
the layout of openai-whisper's ``whisper/model.py``.

``model.bin`` layout (written by ``ctranslate2/specs/model_spec.py``, little-endian)::

    uint32 binary_version            (this reader: 4..6)
    string spec_name                 e.g. "WhisperSpec"
    uint32 spec_revision
    uint32 num_variables
    num_variables x:
        string name                  scoped with "/", e.g. "encoder/conv1/weight"
        uint8  rank
        uint32 dims[rank]
        uint8  dtype id              0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16
        uint32 num_bytes
        bytes  data[num_bytes]       row-major
    uint32 num_aliases
    num_aliases x: string alias, string target   (identical variables are stored once)

where ``string`` is a uint16 length that counts a trailing NUL, the UTF-8 bytes, and the NUL.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import mmap
import os
import re
import struct
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from qa_pipeline.errors import ModelError
from qa_pipeline.log import get_logger

log = get_logger("asr")

SUPPORTED_BINARY_VERSIONS = range(4, 7)
WHISPER_SPEC_NAME = "WhisperSpec"

# The order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_DTYPE_IDS: dict[int, str] = {
    0: "float32",
    1: "int8",
    2: "int16",
    3: "int32",
    4: "float16",
    5: "bfloat16",
}
_ITEM_SIZES = {"float32": 4, "int8": 1, "int16": 2, "int32": 4, "float16": 2, "bfloat16": 2}

_LAYER_RE = re.compile(r"^(encoder|decoder)/layer_(\d+)/")


class CT2Model(NamedTuple):
    """A parsed CTranslate2 model.

    Attributes:
        spec_name: The model specification, e.g. ``WhisperSpec``.
        config: The contents of ``config.json`` (empty when the file is absent).
        variables: Every variable by its scoped name, aliases resolved. float32 and float16
            weights keep their dtype (lossless); quantized int8/int16 weights are dequantized
            to float32 with their ``*_scale`` (which is then removed); bfloat16 becomes
            float32; scalars are 0-d arrays.
    """

    spec_name: str
    config: dict[str, Any]
    variables: dict[str, np.ndarray]


class _Reader:
    """Bounds-checked sequential reads over the bytes of one model.bin."""

    def __init__(self, buffer: mmap.mmap | bytes, path: Path) -> None:
        self._buf = buffer
        self._pos = 0
        self._path = path

    def _take(self, size: int, what: str) -> int:
        start = self._pos
        if start + size > len(self._buf):
            raise ModelError(f"{self._path}: truncated file (ends inside {what})")
        self._pos = start + size
        return start

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        start = self._take(struct.calcsize(fmt), what)
        return struct.unpack_from(fmt, self._buf, start)

    def string(self, what: str) -> str:
        (length,) = self.unpack("<H", what)
        start = self._take(length, what)
        raw = bytes(self._buf[start : start + length])
        if not raw or raw[-1] != 0:
            raise ModelError(f"{self._path}: malformed string in {what}")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ModelError(f"{self._path}: malformed string in {what} ({exc})") from exc

    def array(self, dtype: str, shape: tuple[int, ...], num_bytes: int, what: str) -> np.ndarray:
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count * _ITEM_SIZES[dtype] != num_bytes:
            raise ModelError(
                f"{self._path}: variable {what} claims {num_bytes} bytes but shape {shape} "
                f"of {dtype} needs {count * _ITEM_SIZES[dtype]}"
            )
        start = self._take(num_bytes, f"variable {what}")
        storage = "uint16" if dtype == "bfloat16" else dtype
        data = np.frombuffer(self._buf, dtype=np.dtype(storage).newbyteorder("<"), count=count, offset=start)
        if dtype == "bfloat16":
            # bfloat16 is the upper half of a float32: widen by shifting into the high bits.
            data = (data.astype(np.uint32) << 16).view(np.float32)
        else:
            data = data.astype(data.dtype.newbyteorder("="), copy=True)
        return data.reshape(shape)

    @property
    def remaining(self) -> int:
        return len(self._buf) - self._pos


def _model_bin(model_dir: str | Path) -> Path:
    path = Path(model_dir)
    if path.is_file() and path.name == "model.bin":
        return path
    if not path.exists():
        raise ModelError(f"{path}: no such CTranslate2 model directory")
    if not path.is_dir():
        raise ModelError(f"{path}: not a CTranslate2 model directory (expected a folder with model.bin)")
    model_bin = path / "model.bin"
    if not model_bin.is_file():
        raise ModelError(f"{path}: no model.bin in this folder; not a CTranslate2 model")
    return model_bin


def _read_config(model_bin: Path) -> dict[str, Any]:
    config_path = model_bin.with_name("config.json")
    if not config_path.exists():
        return {}
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{config_path}: not a readable JSON file ({exc})") from exc
    if not isinstance(config, dict):
        raise ModelError(f"{config_path}: expected a JSON object")
    return config


def _dequantize(variables: dict[str, np.ndarray], path: Path) -> None:
    """Replace quantized weights by float32 values, as CTranslate2 does when it loads them."""
    for name in [n for n in variables if n.endswith("_zero")]:
        base = name[: -len("_zero")]
        if base in variables and variables[base].ndim > 0:
            raise ModelError(
                f"{path}: variable {base} uses AWQ quantization (has {name}), which this reader "
                "does not support; convert the model with a float or int8 quantization"
            )
    for name in [n for n in variables if n.endswith("_scale")]:
        base = name[: -len("_scale")]
        value = variables.get(base)
        # Other "*_scale" variables (e.g. queries_scale) are model parameters, not quantization.
        if value is None or value.dtype.kind != "i" or value.ndim == 0:
            continue
        scale = variables.pop(name).astype(np.float32)
        if value.dtype == np.int8:
            # One scale per output row (127 / max |row|); 3-D conv weights are scaled as rows
            # of their flattened (out, in * kernel) view.
            if scale.shape != (value.shape[0],):
                raise ModelError(
                    f"{path}: {name} has shape {scale.shape}, expected ({value.shape[0]},) for {base}"
                )
            rows = value.reshape(value.shape[0], -1).astype(np.float32)
            variables[base] = (rows / scale[:, None]).reshape(value.shape)
        else:
            # int16 uses a single scale for the whole tensor.
            variables[base] = value.astype(np.float32) / scale.reshape(())


def read_ct2_model(model_dir: str | Path) -> CT2Model:
    """Parse a CTranslate2 model directory without importing CTranslate2.

    Args:
        model_dir: Folder holding ``model.bin`` (and usually ``config.json``), or the path of
            ``model.bin`` itself.

    Returns:
        ``(spec_name, config, variables)`` as a :class:`CT2Model`.

    Raises:
        ModelError: The folder or ``model.bin`` is missing, the file is truncated or malformed,
            written by an unsupported CTranslate2 version, or uses an unsupported dtype.
    """
    model_bin = _model_bin(model_dir)
    config = _read_config(model_bin)
    try:
        with open(model_bin, "rb") as fh:
            try:
                buffer: mmap.mmap | bytes = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file cannot be mapped
                buffer = b""
            try:
                spec_name, variables = _parse(_Reader(buffer, model_bin), model_bin)
            finally:
                if isinstance(buffer, mmap.mmap):
                    buffer.close()
    except OSError as exc:
        raise ModelError(f"{model_bin}: cannot read ({exc})") from exc
    return CT2Model(spec_name, config, variables)


def _parse(reader: _Reader, path: Path) -> tuple[str, dict[str, np.ndarray]]:
    (version,) = reader.unpack("<I", "the header")
    if version not in SUPPORTED_BINARY_VERSIONS:
        raise ModelError(
            f"{path}: CTranslate2 binary version {version} is not supported "
            f"(this reader knows {min(SUPPORTED_BINARY_VERSIONS)}-{max(SUPPORTED_BINARY_VERSIONS)}); "
            "is this a CTranslate2 model.bin?"
        )
    spec_name = reader.string("the spec name")
    (revision,) = reader.unpack("<I", "the spec revision")
    (count,) = reader.unpack("<I", "the variable count")
    variables: dict[str, np.ndarray] = {}
    for index in range(count):
        name = reader.string(f"the name of variable #{index}")
        (rank,) = reader.unpack("<B", f"variable {name}")
        shape = reader.unpack(f"<{rank}I", f"variable {name}") if rank else ()
        type_id, num_bytes = reader.unpack("<BI", f"variable {name}")
        dtype = _DTYPE_IDS.get(type_id)
        if dtype is None:
            raise ModelError(f"{path}: variable {name} has unknown dtype id {type_id}")
        variables[name] = reader.array(dtype, tuple(shape), num_bytes, name)
    aliases: dict[str, str] = {}
    (alias_count,) = reader.unpack("<I", "the alias count")
    for _ in range(alias_count):
        alias = reader.string("an alias name")
        aliases[alias] = reader.string(f"the target of alias {alias}")
    if reader.remaining:
        raise ModelError(f"{path}: {reader.remaining} unexpected bytes after the last alias")
    _dequantize(variables, path)
    for alias, target in aliases.items():
        seen = {alias}
        while target in aliases and target not in seen:
            seen.add(target)
            target = aliases[target]
        if target not in variables:
            raise ModelError(f"{path}: alias {alias} points to missing variable {target}")
        variables[alias] = variables[target]
    log.debug(
        "read %s: %s revision %d, %d variables, %d aliases", path, spec_name, revision, count, alias_count
    )
    return spec_name, variables


def model_sha256(model_dir: str | Path) -> str:
    """Hex SHA-256 of a CTranslate2 model's ``model.bin`` (the key of converted copies)."""
    model_bin = _model_bin(model_dir)
    digest = hashlib.sha256()
    try:
        with open(model_bin, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise ModelError(f"{model_bin}: cannot read ({exc})") from exc
    return digest.hexdigest()


class _Weights:
    """Typed access to a Whisper model's variables, with shape checks that name the variable."""

    def __init__(self, variables: dict[str, np.ndarray], path: Path) -> None:
        self._vars = variables
        self._path = path

    def get(self, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        value = self._vars.get(name)
        if value is None:
            raise ModelError(f"{self._path}: Whisper variable {name} is missing")
        if shape is not None and value.shape != shape:
            raise ModelError(f"{self._path}: {name} has shape {value.shape}, expected {shape}")
        return value

    def scalar(self, name: str) -> int:
        return int(self.get(name, ()))

    def layers(self, stack: str) -> int:
        indices = {int(m.group(2)) for n in self._vars if (m := _LAYER_RE.match(n)) and m.group(1) == stack}
        if indices != set(range(len(indices))):
            raise ModelError(f"{self._path}: {stack} layers are not numbered 0..N-1: {sorted(indices)}")
        return len(indices)


def _sinusoids(length: int, channels: int) -> np.ndarray:
    """openai-whisper's fixed encoder position table (used when the model does not store it)."""
    increment = np.log(10000.0) / (channels // 2 - 1)
    inv_timescales = np.exp(-increment * np.arange(channels // 2))
    scaled = np.arange(length)[:, None] * inv_timescales[None, :]
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1).astype(np.float32)


def _alignment_heads_dump(config: dict[str, Any], n_layer: int, n_head: int, path: Path) -> bytes:
    """The cross-attention heads used for word timing, as ``Whisper.set_alignment_heads`` reads them."""
    pairs = config.get("alignment_heads")
    mask = np.zeros((n_layer, n_head), dtype=bool)
    if not pairs:
        # openai-whisper's own default when a model names none: every head of the last half.
        mask[n_layer // 2 :] = True
    else:
        for pair in pairs:
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                raise ModelError(f"{path}: alignment_heads entry {pair!r} is not a [layer, head] pair")
            layer, head = int(pair[0]), int(pair[1])
            if not (0 <= layer < n_layer and 0 <= head < n_head):
                raise ModelError(
                    f"{path}: alignment head [{layer}, {head}] is outside {n_layer} layers x {n_head} heads"
                )
            mask[layer, head] = True
    # mtime=0 keeps the dump, and so the checkpoint, identical across conversions.
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def _linear(state: dict[str, np.ndarray], prefix: str, weight: np.ndarray, bias: np.ndarray | None) -> None:
    state[f"{prefix}.weight"] = weight
    if bias is not None:
        state[f"{prefix}.bias"] = bias


def _attention(
    state: dict[str, np.ndarray], w: _Weights, src: str, dst: str, n_state: int, fused_qkv: bool
) -> None:
    """Unfuse one attention block.

    Self-attention stores Q, K and V as one (3n, n) ``linear_0``; cross-attention stores Q as
    ``linear_0`` and K, V as one (2n, n) ``linear_1``. openai-whisper's key projection has no
    bias: CTranslate2 pads it with zeros, and a key bias could not matter anyway (q·b is the
    same for every key, and softmax ignores a constant), so it is dropped.
    """
    n = n_state
    if fused_qkv:
        qkv_w = w.get(f"{src}/linear_0/weight", (3 * n, n))
        qkv_b = w.get(f"{src}/linear_0/bias", (3 * n,))
        q_w, k_w, v_w = qkv_w[:n], qkv_w[n : 2 * n], qkv_w[2 * n :]
        q_b, v_b = qkv_b[:n], qkv_b[2 * n :]
        out = f"{src}/linear_1"
    else:
        q_w = w.get(f"{src}/linear_0/weight", (n, n))
        q_b = w.get(f"{src}/linear_0/bias", (n,))
        kv_w = w.get(f"{src}/linear_1/weight", (2 * n, n))
        kv_b = w.get(f"{src}/linear_1/bias", (2 * n,))
        k_w, v_w = kv_w[:n], kv_w[n:]
        v_b = kv_b[n:]
        out = f"{src}/linear_2"
    _linear(state, f"{dst}.query", q_w, q_b)
    _linear(state, f"{dst}.key", k_w, None)
    _linear(state, f"{dst}.value", v_w, v_b)
    _linear(state, f"{dst}.out", w.get(f"{out}/weight", (n, n)), w.get(f"{out}/bias", (n,)))


def _layer_norm(state: dict[str, np.ndarray], w: _Weights, src: str, dst: str, n_state: int) -> None:
    state[f"{dst}.weight"] = w.get(f"{src}/gamma", (n_state,))
    state[f"{dst}.bias"] = w.get(f"{src}/beta", (n_state,))


def _mlp(state: dict[str, np.ndarray], w: _Weights, src: str, dst: str, n_state: int) -> None:
    n_mlp = 4 * n_state
    _layer_norm(state, w, f"{src}/layer_norm", f"{dst}.mlp_ln", n_state)
    _linear(
        state,
        f"{dst}.mlp.0",
        w.get(f"{src}/linear_0/weight", (n_mlp, n_state)),
        w.get(f"{src}/linear_0/bias", (n_mlp,)),
    )
    _linear(
        state,
        f"{dst}.mlp.2",
        w.get(f"{src}/linear_1/weight", (n_state, n_mlp)),
        w.get(f"{src}/linear_1/bias", (n_state,)),
    )


def ct2_whisper_state(model_dir: str | Path) -> tuple[dict[str, int], dict[str, np.ndarray], bytes]:
    """Map a CTranslate2 Whisper model onto openai-whisper's parameter names.

    Args:
        model_dir: The CTranslate2 model folder.

    Returns:
        ``(dims, state_dict, alignment_heads)``: openai-whisper's ``ModelDimensions`` fields,
        its ``model_state_dict`` as numpy arrays, and the base85 gzip dump of the alignment
        heads that ``Whisper.set_alignment_heads`` takes.

    Raises:
        ModelError: Not a Whisper model, or a variable is missing or has the wrong shape.
    """
    path = _model_bin(model_dir)
    spec_name, config, variables = read_ct2_model(model_dir)
    if spec_name != WHISPER_SPEC_NAME:
        raise ModelError(f"{path}: a CTranslate2 {spec_name} model, not a Whisper model")
    w = _Weights(variables, path)

    conv1 = w.get("encoder/conv1/weight")
    if conv1.ndim != 3 or conv1.shape[2] != 3:
        raise ModelError(f"{path}: encoder/conv1/weight has shape {conv1.shape}, expected (state, mels, 3)")
    n_audio_state, n_mels = int(conv1.shape[0]), int(conv1.shape[1])
    embeddings = w.get("decoder/embeddings/weight")
    if embeddings.ndim != 2:
        raise ModelError(
            f"{path}: decoder/embeddings/weight has shape {embeddings.shape}, expected (vocab, state)"
        )
    n_vocab, n_text_state = (int(d) for d in embeddings.shape)
    text_positions = w.get("decoder/position_encodings/encodings")
    audio_positions = variables.get("encoder/position_encodings/encodings")
    # Whisper's encoder sees 30 s windows: 3000 mel frames, halved by conv2's stride.
    n_audio_ctx = int(audio_positions.shape[0]) if audio_positions is not None else 1500
    if audio_positions is None:
        audio_positions = _sinusoids(n_audio_ctx, n_audio_state)
    dims = {
        "n_mels": n_mels,
        "n_audio_ctx": n_audio_ctx,
        "n_audio_state": n_audio_state,
        "n_audio_head": w.scalar("encoder/num_heads"),
        "n_audio_layer": w.layers("encoder"),
        "n_vocab": n_vocab,
        "n_text_ctx": int(text_positions.shape[0]),
        "n_text_state": n_text_state,
        "n_text_head": w.scalar("decoder/num_heads"),
        "n_text_layer": w.layers("decoder"),
    }
    if n_text_state != n_audio_state:
        raise ModelError(f"{path}: decoder width {n_text_state} differs from encoder width {n_audio_state}")

    # openai-whisper ties the output projection to the token embedding; a model that does not
    # cannot be expressed in its layout.
    projection = variables.get("decoder/projection/weight")
    if projection is not None and projection is not embeddings and not np.array_equal(projection, embeddings):
        raise ModelError(f"{path}: decoder/projection/weight is not tied to the token embedding")
    projection_bias = variables.get("decoder/projection/bias")
    if projection_bias is not None and np.any(projection_bias):
        raise ModelError(f"{path}: decoder/projection/bias is not zero; openai-whisper has none")

    n = n_audio_state
    state: dict[str, np.ndarray] = {}
    _linear(state, "encoder.conv1", conv1, w.get("encoder/conv1/bias", (n,)))
    _linear(
        state, "encoder.conv2", w.get("encoder/conv2/weight", (n, n, 3)), w.get("encoder/conv2/bias", (n,))
    )
    if audio_positions.shape != (n_audio_ctx, n):
        raise ModelError(f"{path}: encoder/position_encodings/encodings has shape {audio_positions.shape}")
    state["encoder.positional_embedding"] = audio_positions
    for i in range(dims["n_audio_layer"]):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        _attention(state, w, f"{src}/self_attention", f"{dst}.attn", n, fused_qkv=True)
        _layer_norm(state, w, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln", n)
        _mlp(state, w, f"{src}/ffn", f"{dst}", n)
    _layer_norm(state, w, "encoder/layer_norm", "encoder.ln_post", n)

    state["decoder.token_embedding.weight"] = embeddings
    state["decoder.positional_embedding"] = text_positions
    for i in range(dims["n_text_layer"]):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        _attention(state, w, f"{src}/self_attention", f"{dst}.attn", n, fused_qkv=True)
        _layer_norm(state, w, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln", n)
        _attention(state, w, f"{src}/attention", f"{dst}.cross_attn", n, fused_qkv=False)
        _layer_norm(state, w, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln", n)
        _mlp(state, w, f"{src}/ffn", f"{dst}", n)
    _layer_norm(state, w, "decoder/layer_norm", "decoder.ln", n)

    heads = _alignment_heads_dump(config, dims["n_text_layer"], dims["n_text_head"], path)
    return dims, state, heads


def ct2_whisper_to_openai(model_dir: str | Path, out_path: str | Path) -> Path:
    """Convert a CTranslate2 Whisper model into an openai-whisper ``.pt`` checkpoint.

    The checkpoint holds ``dims``, ``model_state_dict`` (float16 or float32, as stored; int8
    weights dequantized to float32) and ``alignment_heads``, the word-timing heads from
    ``config.json``. ``whisper.load_model(path)`` can read it but ignores ``alignment_heads``;
    :class:`qa_pipeline.asr.openai_whisper.OpenAIWhisperEngine` applies them.

    Args:
        model_dir: The CTranslate2 model folder.
        out_path: Where to write the checkpoint; written atomically (a temporary file in the
            same folder, then renamed), so readers never see half a file.

    Returns:
        ``out_path`` as a Path.

    Raises:
        ModelError: The source is not a readable CTranslate2 Whisper model, or the output
            cannot be written.
    """
    import torch

    dims, state, heads = ct2_whisper_state(model_dir)
    out_path = Path(out_path)
    checkpoint = {
        "dims": dims,
        "model_state_dict": {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()},
        "alignment_heads": heads,
    }
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=out_path.name + ".", suffix=".tmp", dir=out_path.parent)
    except OSError as exc:
        raise ModelError(f"{out_path}: cannot write the converted model ({exc})") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(checkpoint, fh)
        # mkstemp creates the file private to its owner; a model cache is meant to be shared.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, out_path)
    except OSError as exc:
        raise ModelError(f"{out_path}: cannot write the converted model ({exc})") from exc
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    log.debug("converted %s to openai-whisper checkpoint %s", model_dir, out_path)
    return out_path
