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

# Raised when what a cache entry must hold changes (2: transcripts carry their parties; 3:
# recognised with numpy's BLAS on one thread, whose bits differ from a multi-threaded run's).
CACHE_LAYOUT = 3


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
        """Content hash of the audio plus everything that changes the transcript.

        Roles are not part of it: the role step decides them after every hit, so the
        scorecard's agent phrases and ``roles_review_below`` are no inputs of the key.
        """
        recipe = json.dumps(
            {
                # Entries from before roles were a separate step carry no parties to decide
                # them again from; the layout number makes them misses.
                "layout": CACHE_LAYOUT,
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

    def entries(self, audio_sha256: str) -> list[Path]:
        """Every cached transcript of one recording (any engine, model, options or redaction)."""
        if not audio_sha256:
            return []
        folder = self.dir / audio_sha256[:2]
        return sorted(folder.glob(f"{audio_sha256}-*.json")) if folder.is_dir() else []

    def drop(self, audio_sha256: str, keep_redaction: str | None = None) -> int:
        """Delete cached transcripts of one recording.

        Args:
            audio_sha256: The recording's content hash.
            keep_redaction: Keep entries made with this redaction (the ``cache_key()`` of
                :class:`~qa_pipeline.pii.RedactionOptions`); None deletes them all. Entries
                made with other redaction settings, or with redaction off (``-piioff``),
                may hold personal data the current settings remove.

        Returns:
            The number of files deleted.
        """
        removed = 0
        for path in self.entries(audio_sha256):
            if keep_redaction is not None and path.stem.endswith(f"-pii{keep_redaction}"):
                continue
            path.unlink(missing_ok=True)
            removed += 1
        if removed:
            log.info("removed %d cached transcript(s) of %s", removed, audio_sha256[:12])
        return removed
