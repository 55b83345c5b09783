"""Scorecard example embeddings kept on disk, so a scoring process does not embed them again.

Every process that judges by meaning embeds its scorecard's example lists once: about 700
English lines, two seconds of CPU, paid by each batch worker before its first call. The
vectors depend only on the model and the texts, so they are stored under
``<cache>/examples/<key>.npy`` (:func:`qa_pipeline.cache.default_cache_dir`) and read back
bit for bit; verdicts are the same whether a list was read or embedded.

The key holds the model's name, the version of the package that ships its weights, the size of
its weight files, :data:`ENCODER_REVISION` and the texts. A file that cannot be read, or does
not hold one row per text, is embedded again and rewritten; a cache folder that cannot be
written only costs the time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from qa_pipeline.cache import default_cache_dir
from qa_pipeline.log import get_logger

if TYPE_CHECKING:
    import numpy as np

log = get_logger("semantic")

# Raised whenever the way texts become vectors changes (pooling, truncation, the encoder's
# code), so vectors stored by an older release are never read as current.
ENCODER_REVISION = 1

_identity: dict[str, str] = {}


def model_identity(model: str, package: str, import_name: str) -> str:
    """What identifies a model's weights: the package version and its files' sizes.

    Args:
        model: The model's name.
        package: The pip name of the package that ships the weights.
        import_name: Its import name, to find its files.
    """
    found = _identity.get(model)
    if found is None:
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "?"
        sizes = 0
        spec = importlib.util.find_spec(import_name)
        if spec is not None and spec.submodule_search_locations:
            root = Path(list(spec.submodule_search_locations)[0])
            # Weights and configuration, not bytecode, which appears once the package is used.
            sizes = sum(
                p.stat().st_size
                for p in sorted(root.rglob("*"))
                if p.is_file() and p.suffix != ".pyc" and "__pycache__" not in p.parts
            )
        found = _identity[model] = f"{model}|{package}=={version}|{sizes}"
    return found


def _key(identity: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256(f"{identity}|rev{ENCODER_REVISION}".encode())
    for text in texts:
        digest.update(b"\x00" + text.encode("utf-8"))
    return digest.hexdigest()


def stored_vectors(
    identity: str, texts: Sequence[str], compute: Callable[[Sequence[str]], "np.ndarray"], root: Path | None = None
) -> "np.ndarray":
    """The embeddings of ``texts``, read from the store or computed and stored.

    Args:
        identity: :func:`model_identity` of the model that embeds them.
        texts: The example list.
        compute: Embeds texts (one unit-length float32 row each) when they are not stored.
        root: Cache folder; :func:`qa_pipeline.cache.default_cache_dir` when None.
    """
    import numpy as np

    folder = (root or default_cache_dir()) / "examples"
    path = folder / f"{_key(identity, texts)}.npy"
    if path.exists():
        try:
            vectors = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            log.warning("%s: unreadable stored example embeddings (%s); embedding again", path, exc)
        else:
            if vectors.dtype == np.float32 and vectors.ndim == 2 and vectors.shape[0] == len(texts):
                return vectors
            log.warning("%s: stored example embeddings have shape %s, expected %d rows; embedding again",
                        path, vectors.shape, len(texts))
    vectors = np.ascontiguousarray(compute(texts), dtype=np.float32)
    tmp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed, so a worker beside this one never reads half a file.
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, vectors, allow_pickle=False)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        log.debug("cannot store example embeddings in %s: %s", folder, exc)
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return vectors
