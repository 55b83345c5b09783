"""Language data files and the one normaliser (qa_pipeline.lang)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_pipeline.errors import QAError
from qa_pipeline.lang import (
    REQUIRED_KEYS,
    LanguageDataError,
    data_dir,
    load_language,
    load_languages,
    normalise_text,
    shipped_languages,
)
from qa_pipeline.scorecard import load_scorecard

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_language_loads_with_its_required_lists() -> None:
    codes = shipped_languages()
    assert {"en", "zh"} <= set(codes)
    for code in codes:
        data = load_language(code)
        assert data.code == code and data.name
        assert data.source == str(data_dir() / f"{code}.yaml")
        # Every required list is filled, and every word is a non-empty string (a bare YAML
        # `yes` would have been read as a boolean).
        for key in REQUIRED_KEYS[1:]:
            words = getattr(data, key)
            assert words, f"{code}: {key} is empty"
            assert all(isinstance(w, str) and w.strip() for w in words), f"{code}: {key}"
        assert all(isinstance(v, int) for v in data.pii.digits.values())
        # Each shipped language is scored with its own default scorecard, documented and packaged.
        assert (ROOT / "scorecards" / f"default.{code}.yaml").is_file()
        assert (ROOT / "qa_pipeline" / "data" / "scorecards" / f"default.{code}.yaml").is_file()


def test_merged_languages_unite_the_lists() -> None:
    merged = load_languages()
    en, zh = load_language("en"), load_language("zh")
    assert merged.code == "*" and load_language("*") is merged
    assert merged.fillers == en.fillers | zh.fillers
    assert merged.backchannels == en.backchannels + zh.backchannels
    assert merged.pii.cues["card"] == en.pii.cues["card"] + zh.pii.cues["card"]
    assert merged.traditional_to_simplified["謝"] == "谢"
    # "yes" is a word, not YAML's boolean.
    assert "yes" in en.backchannels


def test_normaliser_variants() -> None:
    assert normalise_text("I'm SO sorry — um, can't help.") == ("i", "am", "so", "sorry", "can", "not", "help")
    assert normalise_text("謝謝您，嗯") == ("谢", "谢", "您")
    # Nothing expanded, simplified or dropped: how the hallucination guard compares segments.
    plain = dict(apostrophes="split", numbers="keep", drop_fillers=False, simplify=False, split_cjk=False)
    assert normalise_text("Um, you're 2 謝謝!", **plain) == ("um", "you", "re", "2", "謝謝")
    spelled = normalise_text("It's 3 o'clock, 1,250 and the 21st; 007", "en", apostrophes="keep", numbers="spell")
    assert spelled == (
        "it's", "three", "o'clock", "one", "thousand", "two", "hundred", "fifty", "and", "the", "twenty",
        "first", "zero", "zero", "seven",
    )
    assert normalise_text("{name} here", keep="{}", split_cjk=False) == ("{name}", "here")


def test_spelling_numbers_needs_the_wer_section() -> None:
    with pytest.raises(LanguageDataError, match=r"zh\.yaml: spelling numbers needs the key wer"):
        normalise_text("3", "zh", numbers="spell")


def test_a_third_language_from_one_file(tmp_path: Path) -> None:
    (tmp_path / "es.yaml").write_text(
        "name: Spanish\n"
        "fillers: [eh, este]\n"
        "stopwords: [el, la, de, que, y]\n"
        "protected: ['no', nunca, nada]\n"
        "backchannels: [vale, claro, sí]\n"
        "contractions: {del: de el, al: a el}\n"
        "number_words: {'2': dos}\n",
        encoding="utf-8",
    )
    es = load_language("es", tmp_path)
    assert es.name == "Spanish" and "nunca" in es.protected and es.backchannels == ("vale", "claro", "sí")
    assert normalise_text("Eh, ¿vas AL banco del 2?", "es", directory=tmp_path) == (
        "vas", "a", "el", "banco", "de", "el", "dos",
    )
    assert load_languages(tmp_path).code == "*"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fillers: [eh]\n", r"es\.yaml: missing required key\(s\): name, stopwords, protected, backchannels"),
        ("name: S\nfillers: [eh]\nstopwords: []\nprotected: []\nbackchannels: [yes]\n",
         r"es\.yaml: key backchannels: expected words, got True"),
        ("name: S\nfillers: eh\nstopwords: []\nprotected: []\nbackchannels: []\n",
         r"es\.yaml: key fillers: expected a list of words"),
        ("name: S\nfillers: []\nstopwords: []\nprotected: []\nbackchannels: []\npii: {cues: {card: tarjeta}}\n",
         r"es\.yaml: key pii\.cues\.card: expected a list of words"),
        ("name: S\nfillers: []\nstopwords: []\nprotected: []\nbackchannels: []\nstopword: []\n",
         r"es\.yaml: unknown key\(s\): stopword"),
        ("name: S\nfillers: [\n", r"es\.yaml: not valid YAML"),
    ],
)
def test_malformed_files_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "es.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(QAError, match=message):
        load_language("es", tmp_path)


def test_unknown_language_names_the_known_ones() -> None:
    with pytest.raises(LanguageDataError, match=r"no data file for language 'xx' \(known: en, zh\)"):
        load_language("xx")


def test_default_scorecards_still_load() -> None:
    for code in shipped_languages():
        assert load_scorecard(ROOT / "scorecards" / f"default.{code}.yaml").criteria


def test_a_misspelt_key_inside_a_section_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "es.yaml").write_text(
        "name: S\nfillers: []\nstopwords: []\nprotected: []\nbackchannels: []\npii: {month: [enero]}\n",
        encoding="utf-8",
    )
    with pytest.raises(LanguageDataError, match=r"es\.yaml: key pii: unknown key\(s\): month"):
        load_language("es", tmp_path)
