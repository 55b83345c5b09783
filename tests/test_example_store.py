"""Scorecard example embeddings stored on disk: read back bit for bit, rebuilt when damaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa_pipeline.example_store import stored_vectors

TEXTS = ("I'm so sorry about that", "that must be frustrating", "I'd feel the same")


class Embedder:
    """Counts its calls; vectors depend only on the texts, as a real model's do."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts) -> np.ndarray:
        self.calls += 1
        rows = [np.random.default_rng(sum(map(ord, t))).standard_normal(8) for t in texts]
        out = np.asarray(rows, dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_a_stored_list_is_read_back_identical_without_embedding(tmp_path: Path) -> None:
    embed = Embedder()
    first = stored_vectors("model|1", TEXTS, embed, root=tmp_path)
    again = stored_vectors("model|1", TEXTS, embed, root=tmp_path)
    assert embed.calls == 1
    assert again.dtype == np.float32 and np.array_equal(first, again)
    assert len(list((tmp_path / "examples").glob("*.npy"))) == 1


def test_another_model_or_list_is_embedded_anew(tmp_path: Path) -> None:
    embed = Embedder()
    stored_vectors("model|1", TEXTS, embed, root=tmp_path)
    stored_vectors("model|2", TEXTS, embed, root=tmp_path)
    stored_vectors("model|1", TEXTS[:2], embed, root=tmp_path)
    assert embed.calls == 3


def test_a_damaged_file_is_embedded_again_and_rewritten(tmp_path: Path) -> None:
    embed = Embedder()
    good = stored_vectors("model|1", TEXTS, embed, root=tmp_path)
    (path,) = (tmp_path / "examples").glob("*.npy")
    path.write_bytes(b"not an array")
    assert np.array_equal(stored_vectors("model|1", TEXTS, embed, root=tmp_path), good)
    np.save(path, good[:2])  # one row short
    assert np.array_equal(stored_vectors("model|1", TEXTS, embed, root=tmp_path), good)
    assert embed.calls == 3
    assert np.array_equal(np.load(path), good)


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would go")
    embed = Embedder()
    vectors = stored_vectors("model|1", TEXTS, embed, root=blocker)
    assert vectors.shape == (3, 8) and embed.calls == 1
