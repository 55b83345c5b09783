"""The language gate: a call the model cannot transcribe fails with the reason, before scoring.

The unit tests use detector results made up here; one end-to-end test renders seconds of
Mandarin with espeak-ng and runs ``qa run`` with the real multilingual detector.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from batch_support import SCORECARD, manifest_row, write_manifest
from qa_pipeline.asr.language import (
    LanguageGateError,
    detected_language,
    enforce_gate,
    identify_language,
    language_name,
)
from qa_pipeline.asr.models import multilingual_installed
from qa_pipeline.errors import ModelError
from qa_pipeline.speechchecks import LanguageCheck


def check(language: str, p: float) -> LanguageCheck:
    return LanguageCheck(language, p, True, "base", channels=((0, language, p),))


def test_a_confident_foreign_call_on_an_english_model_fails_with_the_way_out() -> None:
    with pytest.raises(LanguageGateError) as info:
        enforce_gate(check("zh", 0.97), "tiny.en", english_only=True, call_id="c42")
    message = str(info.value)
    assert message.startswith("call c42: spoken language is Chinese (zh, p=0.97); model tiny.en transcribes English only")
    assert "--model base" in message and "scorecard whose languages include zh" in message
    # Failing as a model error puts the call among the failures, not the scores.
    assert isinstance(info.value, ModelError)


@pytest.mark.parametrize(
    ("result", "english_only"),
    [
        (check("en", 0.99), True),  # English on tiny.en
        (check("zh", 0.97), False),  # a multilingual model transcribes it
        (check("zh", 0.40), True),  # too unsure to refuse a call on
        (LanguageCheck(None, 0.0, False, note="language not verified: no multilingual model installed"), True),
    ],
)
def test_the_gate_lets_through_what_it_cannot_or_need_not_refuse(result: LanguageCheck, english_only: bool) -> None:
    enforce_gate(result, "tiny.en" if english_only else "base", english_only, "c1")


def test_decoding_language_comes_from_the_request_then_a_confident_detection() -> None:
    assert detected_language(check("zh", 0.97), "en") == "en"
    assert detected_language(check("zh", 0.97), None) == "zh"
    assert detected_language(check("zh", 0.30), None) is None
    assert language_name("zh") == "Chinese" and language_name("xx") == "xx"


def test_without_a_detector_the_language_is_recorded_as_not_verified() -> None:
    silent = [np.zeros(16000, dtype=np.float32)]
    got = identify_language(None, silent, [0], "language not verified: no multilingual model installed")
    assert not got.verified and got.language is None and "not verified" in got.note
    assert LanguageCheck.from_dict(got.to_dict()) == got


ESPEAK = shutil.which("espeak-ng")
# Pinyin with tone numbers: espeak-ng's Mandarin voice reads Chinese characters it lacks in its
# dictionary letter by letter, but pronounces pinyin as Mandarin.
PINYIN = (
    "nin2 hao3, zhe4 li3 shi4 ke4 hu4 fu2 wu4 zhong1 xin1. qing3 wen4 you3 shen2 me5 ke3 yi3 bang1 nin2 de5? "
    "wo3 xiang3 cha2 xun2 yi2 xia4 wo3 de5 zhang4 hu4 yu2 e2, shang4 ge4 yue4 de5 zhang4 dan1 hao3 xiang4 you3 wen4 ti2."
)


@pytest.mark.e2e
@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng (Debian package) renders the Mandarin clip")
@pytest.mark.skipif(not multilingual_installed(), reason="the multilingual extra identifies the language")
def test_qa_run_refuses_a_mandarin_call_on_the_english_model(tmp_path: Path, monkeypatch) -> None:
    from qa_pipeline.cli.run import app as run_app
    from qa_pipeline.store import ErrorKind, Store

    rec = tmp_path / "rec"
    rec.mkdir()
    subprocess.run([ESPEAK, "-v", "cmn-latn-pinyin", "-s", "140", "-w", str(rec / "mandarin.wav"), PINYIN], check=True,
                   capture_output=True)
    write_manifest(rec, [manifest_row("mandarin.wav", "mandarin")])
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "qa.db"
    result = CliRunner().invoke(
        run_app, ["run", "rec", "--db", str(db), "--scorecard", str(SCORECARD), "--no-cache", "--no-report", "--workers", "1"]
    )
    assert result.exit_code == 1, result.output
    assert "1 call(s) failed:" in result.stderr
    assert "call mandarin: spoken language is Chinese (zh, p=" in result.stderr, result.stderr
    assert "model tiny.en transcribes English only" in result.stderr
    with Store.open(db) as store:
        (failure,) = store.failures(None)
        assert failure.error_kind is ErrorKind.MODEL
        assert store.counts().get("call_scores", 0) == 0


def _words(n: int, p: float) -> list:
    from qa_pipeline.transcript import Word

    return [Word(f"w{i}", i * 0.4, i * 0.4 + 0.3, p) for i in range(n)]


def test_the_screen_sends_unsure_english_transcriptions_to_the_detector() -> None:
    from qa_pipeline.asr.language import looks_foreign, screened_english

    # Real English calls on tiny.en: 0.84-0.88 mean word probability, 2.6-3.4 words a second.
    assert looks_foreign(_words(60, 0.86), 20.0, coverage_review=False) is None
    assert "mean word probability 0.45" in looks_foreign(_words(60, 0.45), 20.0, coverage_review=False)
    assert "0.5 words per second" in looks_foreign(_words(10, 0.9), 20.0, coverage_review=False)
    # Mandarin on tiny.en: no words at all, the speech uncovered.
    assert looks_foreign([], 20.0, coverage_review=True) == "mean word probability 0.00, 0.0 words per second of speech"
    passed = screened_english(_words(60, 0.86), 20.0)
    assert not passed.verified and passed.language == "en" and "not run through the detector" in passed.note
