"""On-disk transcript cache, so a second run never transcribes the same audio twice."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from qa_pipeline.errors import TranscriptError
from qa_pipeline.log import get_logger
from qa_pipeline.options import AudioOptions, TranscribeOptions
from qa_pipeline.transcript import Transcript

log = get_logger("cache")


def default_cache_dir() -> Path:
    """``$QA_PIPELINE_CACHE``, else ``$XDG_CACHE_HOME/qa_pipeline``, else ``~/.cache/qa_pipeline``."""
    if os.environ.get("QA_PIPELINE_CACHE"):
        return Path(os.environ["QA_PIPELINE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qa_pipeline"


class TranscriptCache:
    """Transcripts stored as JSON under ``<root>/transcripts/<hash[:2]>/<key>.json``.

    Args:
        root: Cache directory; defaults to :func:`default_cache_dir`.
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else default_cache_dir()
        self.dir = self.root / "transcripts"

    @staticmethod
    def key(
        audio_sha256: str,
        engine: str,
        model: str,
        options: TranscribeOptions,
        audio_options: AudioOptions,
    ) -> str:
        """Content hash of the audio plus everything that changes the transcript."""
        recipe = json.dumps(
            {
                "engine": engine,
                "model": model,
                "options": options.to_dict(),
                "agent_channel": audio_options.agent_channel,
                "customer_channel": audio_options.customer_channel,
                "sample_rate": audio_options.sample_rate,
            },
            sort_keys=True,
        )
        return f"{audio_sha256}-{hashlib.sha256(recipe.encode()).hexdigest()[:16]}"

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> Transcript | None:
        """The cached transcript, or None (a damaged entry counts as a miss and is logged)."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            return Transcript.load(path)
        except TranscriptError as exc:
            log.warning("ignoring damaged cache entry %s: %s", path, exc)
            return None

    def put(self, key: str, transcript: Transcript) -> Path:
        """Store a transcript (atomically)."""
        return transcript.save(self._path(key))
