"""Which channel (or which stretch of a mono recording) is the agent.

Stereo recordings give each party its own channel, but which is which varies by recorder and
by site. ``agent_channel: auto`` decides from evidence, in this order:

1. **greeting** — exactly one channel opens with agent phrases (``data/role_cues.yaml``: "thank
   you for calling", "my name is", "how can I help", "欢迎致电"…) within its first seconds of
   speech;
2. **first_speaker** — otherwise the channel whose speech starts first (agents answer the
   phone), with confidence growing with the head start.

Mono recordings (one channel) cannot be split by channel. Until diarization is available the
documented heuristic is **mono_alternation**: speech is cut into utterances at pauses of at
least ``turn_gap_seconds``; the first utterance is the agent's (they answer the call) and the
speaker alternates at each such pause. The call is marked ``roles_inferred`` with a low
confidence so reports can flag role-dependent verdicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Sequence

import yaml

from qa_pipeline.transcript import RoleAssignment, RolesSource, Speaker, Turn, Word, join_words, words_to_turns


@dataclass(frozen=True)
class RoleCues:
    """Agent-side phrases per language and how far into a channel's speech to look."""

    window_seconds: float
    cues: dict[str, tuple[str, ...]]


@lru_cache(maxsize=1)
def default_cues() -> RoleCues:
    """The cue phrases shipped with the package."""
    text = resources.files("qa_pipeline").joinpath("data/role_cues.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    window = float(str(data["window"]).rstrip("s"))
    return RoleCues(window, {lang: tuple(v) for lang, v in data["cues"].items()})


_PUNCT = re.compile(r"[^\w\s]+")


def _norm(text: str) -> str:
    return " " + " ".join(_PUNCT.sub(" ", text.casefold()).split()) + " "


def greeting_hits(words: Sequence[Word], cues: RoleCues | None = None) -> list[str]:
    """Agent cue phrases said within the first seconds of a channel's speech."""
    cues = cues or default_cues()
    if not words:
        return []
    limit = words[0].start + cues.window_seconds
    text = _norm(join_words(w.text for w in words if w.start <= limit))
    compact = text.replace(" ", "")
    hits = []
    for lang, phrases in cues.cues.items():
        for p in phrases:
            if lang == "zh":
                if p in compact:
                    hits.append(p)
            elif f" {p} " in text:
                hits.append(p)
    return hits


def assign_stereo_roles(
    channel_words: Sequence[Sequence[Word]],
    onsets: Sequence[float | None],
    configured: int | None,
    channel_ids: Sequence[int] = (0, 1),
) -> RoleAssignment:
    """Decide which of two channels is the agent.

    Args:
        channel_words: Recognised words of each of the two channels.
        onsets: Seconds of each channel's first sustained speech energy (None: silent).
        configured: The agent channel the user fixed, or None for ``auto``.
        channel_ids: The file channel numbers of the two channels.

    Returns:
        The assignment with the rule that decided and a one-sentence reason.
    """
    if configured is not None:
        return RoleAssignment(RolesSource.CHANNEL, "configured", configured, 1.0,
                              f"agent channel {configured} set in the options")
    hits = [greeting_hits(w) for w in channel_words]
    with_hits = [i for i, h in enumerate(hits) if h]
    if len(with_hits) == 1:
        i = with_hits[0]
        return RoleAssignment(
            RolesSource.CHANNEL, "greeting", channel_ids[i], 0.95,
            f"channel {channel_ids[i]} opens with agent phrases: {', '.join(repr(h) for h in hits[i][:3])}",
        )
    starts = []
    for i in range(2):
        candidates = [t for t in (onsets[i], channel_words[i][0].start if channel_words[i] else None) if t is not None]
        starts.append(min(candidates) if candidates else None)
    if starts[0] is None and starts[1] is None:
        return RoleAssignment(RolesSource.CHANNEL, "default", channel_ids[0], 0.0,
                              "no speech on either channel; channel order assumed agent first")
    if starts[1] is None or (starts[0] is not None and starts[0] <= starts[1]):
        first, other = 0, 1
    else:
        first, other = 1, 0
    lead = float("inf") if starts[other] is None else starts[other] - starts[first]
    confidence = 0.9 if lead == float("inf") else round(min(0.9, 0.5 + lead / 4.0), 3)
    why = "the other channel is silent" if lead == float("inf") else f"it speaks {lead:.1f}s before the other"
    tie = " (both channels greet)" if len(with_hits) == 2 else ""
    return RoleAssignment(
        RolesSource.CHANNEL, "first_speaker", channel_ids[first], confidence,
        f"channel {channel_ids[first]} speaks first{tie}: {why}",
    )


def assign_mono_roles(words: Sequence[Word], turn_gap_seconds: float) -> tuple[list[Turn], RoleAssignment]:
    """Split one channel's words into alternating agent/customer turns (see module doc)."""
    utterances = words_to_turns(words, Speaker.AGENT, 0, turn_gap_seconds)
    turns = []
    speaker = Speaker.AGENT
    for utt in utterances:
        turns.append(Turn(speaker, utt.words, 0))
        speaker = speaker.other()
    roles = RoleAssignment(
        RolesSource.INFERRED, "mono_alternation", None, 0.3,
        "mono recording: first utterance taken as the agent, speaker alternating at pauses "
        f"of {turn_gap_seconds:g}s or more",
    )
    return turns, roles
