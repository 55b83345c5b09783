import shutil

import pytest

from qa_pipeline.asr.models import (
    BUNDLED_MODEL_SHA256,
    bundled_model_dir,
    check_language,
    resolve_ct2_model,
    verify_model_files,
)
from qa_pipeline.errors import ModelError


def test_bundled_model_is_found_and_verified():
    d = bundled_model_dir()
    assert (d / "model.bin").stat().st_size > 10_000_000
    m = resolve_ct2_model(None)
    assert m.name == "tiny.en" and m.path == d and m.english_only


def test_damaged_model_file_is_refused(tmp_path):
    src = bundled_model_dir()
    for name in BUNDLED_MODEL_SHA256:
        if name == "model.bin":
            (tmp_path / name).symlink_to(src / name)
        else:
            shutil.copy(src / name, tmp_path / name)
    verify_model_files(tmp_path, BUNDLED_MODEL_SHA256)
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match=r"config\.json is damaged: sha256"):
        verify_model_files(tmp_path, BUNDLED_MODEL_SHA256)
    (tmp_path / "config.json").unlink()
    with pytest.raises(ModelError, match="incomplete: missing config.json"):
        verify_model_files(tmp_path, BUNDLED_MODEL_SHA256)


def test_english_only_model_refuses_mandarin_with_the_way_out():
    m = resolve_ct2_model(None)
    check_language(m, "en")
    check_language(m, None)
    with pytest.raises(ModelError) as err:
        check_language(m, "zh")
    msg = str(err.value)
    assert "tiny.en is English-only" in msg and "'zh'" in msg and "multilingual" in msg and "--model" in msg


def test_local_path_without_model_is_refused(tmp_path):
    with pytest.raises(ModelError, match="not a CTranslate2 Whisper model directory"):
        resolve_ct2_model(str(tmp_path))


def test_model_names_resolve_without_download():
    assert resolve_ct2_model("small").english_only is False
    assert resolve_ct2_model("base.en").english_only is True
    assert resolve_ct2_model("small").path is None
