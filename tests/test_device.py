"""Device and compute-type selection, and the errors when CUDA or a compute type is missing.

None of these needs a GPU: on a machine without one they check the refusal; where CTranslate2
does see a GPU the refusal tests are skipped.
"""

from __future__ import annotations

import inspect

import pytest
from typer.testing import CliRunner

from qa_pipeline.asr import create_engine
from qa_pipeline.asr.device import (
    COMPUTE_TYPES,
    DEFAULT_COMPUTE_TYPE,
    available_cores,
    cuda_device_count,
    resolve_compute_type,
    resolve_device,
    supported_compute_types,
)
from qa_pipeline.cli import run as run_cli
from qa_pipeline.cli import transcribe as transcribe_cli
from qa_pipeline.cli.main import app
from qa_pipeline.errors import ConfigError
from qa_pipeline.options import TranscribeOptions

no_gpu = pytest.mark.skipif(cuda_device_count() > 0, reason="a CUDA device is present: nothing to refuse")


def test_default_compute_type_is_int8_on_cpu_and_float16_on_cuda():
    assert resolve_compute_type("default", "cpu") == "int8"
    assert resolve_compute_type("default", "cuda") == "float16"
    assert DEFAULT_COMPUTE_TYPE == {"cpu": "int8", "cuda": "float16"}
    assert resolve_compute_type("auto", "cpu") == "auto"


def test_cpu_compute_types_follow_what_ctranslate2_offers():
    supported = supported_compute_types("cpu")
    assert {"int8", "float32"} <= supported <= set(COMPUTE_TYPES)
    assert resolve_compute_type("float32", "cpu") == "float32"
    missing = sorted(set(COMPUTE_TYPES) - supported - {"default", "auto"})
    assert missing, "CTranslate2 on CPU lacks some compute type (float16 at least)"
    with pytest.raises(ConfigError, match=f"compute type '{missing[0]}' is not supported on cpu") as info:
        resolve_compute_type(missing[0], "cpu")
    assert "int8" in str(info.value) and "--compute-type default" in str(info.value)
    # With --device auto the device was not the user's choice: fall back to its default.
    assert resolve_compute_type(missing[0], "cpu", fallback=True) == "int8"


def test_unknown_compute_type_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="compute type 'fp16' is unknown; choose one of default, auto, int8"):
        resolve_compute_type("fp16", "cpu")


def test_device_values():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(ConfigError, match="device must be auto, cpu or cuda"):
        resolve_device("tpu")
    assert available_cores() >= 1


@no_gpu
def test_cuda_without_a_gpu_is_a_clear_error():
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ConfigError, match="device 'cuda' was requested but CTranslate2 sees no CUDA device") as info:
        resolve_device("cuda")
    assert "docs/gpu.md" in str(info.value) and "--device cpu" in str(info.value)
    # The engine refuses before loading anything.
    with pytest.raises(ConfigError, match="no CUDA device"):
        create_engine(TranscribeOptions(device="cuda"))


@no_gpu
def test_cli_device_cuda_without_a_gpu_exits_2_with_the_reason(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "--device", "cuda", "--minutes", "0.1", "--data", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "Error: device 'cuda' was requested but CTranslate2 sees no CUDA device" in result.output
    assert not list(tmp_path.iterdir()), "nothing is rendered before the device is checked"


def test_batching_options_are_validated():
    assert TranscribeOptions().batching == "call" and TranscribeOptions().batch_size == 8
    # The commands default to what the library does.
    for command in (run_cli.run, transcribe_cli.transcribe):
        assert inspect.signature(command).parameters["batching"].default.value == "call", command
    with pytest.raises(ConfigError, match="batching must be one of call, channel, off"):
        TranscribeOptions.from_dict({"batching": "all"})
    with pytest.raises(ConfigError, match="batch_size must be >= 1"):
        TranscribeOptions.from_dict({"batch_size": 0})


def test_auto_workers_use_the_cores_on_a_cpu_and_one_elsewhere():
    from qa_pipeline.batch import MAX_AUTO_WORKERS, auto_workers

    cpu = TranscribeOptions(device="cpu")
    assert auto_workers(cpu) == min(available_cores(), MAX_AUTO_WORKERS)
    assert auto_workers(cpu, executor="ray") == 1
    assert auto_workers(TranscribeOptions(engine="openai-whisper", device="cpu")) == 1


@no_gpu
def test_auto_workers_refuse_cuda_without_a_gpu():
    from qa_pipeline.batch import auto_workers

    with pytest.raises(ConfigError, match="no CUDA device"):
        auto_workers(TranscribeOptions(device="cuda"))
