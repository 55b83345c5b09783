"""Transcripts for synthetic calls: scripted conversations whose words justify each verdict.

:func:`write_transcripts` writes a :class:`~qa_pipeline.transcript.Transcript` (and optionally a
silent recording) for chosen calls of a synthetic dataset
(:func:`~qa_pipeline.synthetic_results.synth_frames`), in English or, for the Chinese-speaking
agent, Chinese, and points those calls' evidence at the words.
The agent lines are shared with the synthetic dataset's evidence (:func:`line_evidence`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from qa_pipeline.stats.frames import Frames
from qa_pipeline.transcript import (
    AudioInfo,
    RoleAssignment,
    RolesSource,
    Speaker,
    Transcript,
    Turn,
    Word,
    merge_turns,
)


_LINES: dict[str, dict[str, tuple[str, str]]] = {
    # criterion: language: (line when passed, line when failed)
    "greeting": {
        "en": ("Thank you for calling Northwind, good morning.", "Yeah, hello."),
        "zh": ("您好，感谢致电北风公司。", "喂。"),
    },
    "self_identification": {
        "en": ("My name is {name}, how can I help you today?", "What do you need?"),
        "zh": ("我是{name}，请问有什么可以帮您？", "什么事？"),
    },
    "active_listening": {
        "en": ("So if I understand correctly, you were charged twice this month.", "Okay."),
        "zh": ("我确认一下，您这个月被扣了两次费用，对吗？", "嗯。"),
    },
    "empathy": {
        "en": ("I am so sorry about that, I understand how frustrating this is.", "Right, give me the account number."),
        "zh": ("非常抱歉给您带来不便，我理解您的心情。", "账号是多少？"),
    },
    "interruptions": {
        "en": ("Thank you, I have found your account.", "Yes yes I have it already."),
        "zh": ("谢谢，我已经找到您的账户了。", "好好我知道了。"),
    },
    "hold_etiquette": {
        "en": ("May I place you on a brief hold while I check?", "Okay I am back."),
        "zh": ("请您稍等，我帮您查一下。", "好了。"),
    },
    "positive_language": {
        "en": ("I will be happy to fix that for you right away.", "That is not my problem, it is the billing team's fault."),
        "zh": ("我很乐意马上为您解决。", "这不是我的问题，是账单部门的错。"),
    },
    "closing": {
        "en": ("Is there anything else I can help you with? Thank you for calling, have a great day.", "Okay, bye."),
        "zh": ("请问还有其他可以帮您的吗？感谢您的来电，祝您愉快。", "好，再见。"),
    },
}
_CUSTOMER: dict[str, dict[str, str]] = {
    "issue": {"en": "Hi, I am calling about my last bill, I was charged twice.", "zh": "你好，我的账单有问题，被重复扣费了。"},
    "frustration": {"en": "This is the third time I call and I am really frustrated.", "zh": "这已经是第三次了，我真的很生气。"},
    "account": {"en": "My account number is four four seven two and the address is on file.", "zh": "我的账号是四四七二，地址在系统里有。"},
    "thanks": {"en": "Thank you, that helps a lot.", "zh": "谢谢，这样就好了。"},
}
_HOLD_THANKS = {"en": "Thank you for holding.", "zh": "感谢您的耐心等待。"}
_RULES = {
    "greeting": "greeting phrase in the first 15 s",
    "self_identification": "agent states their name",
    "active_listening": "paraphrase of the issue",
    "empathy": "empathy after frustration",
    "interruptions": "agent talks over the customer for more than 1 s",
    "hold_etiquette": "hold announced and thanked",
    "positive_language": "no blaming or refusing phrases",
    "closing": "offer of further help and thanks",
    "dead_air": "no silence longer than 10 s",
}
_INTERRUPT_OVERLAP_S = 1.4
_HOLD_S = 35.0
_DEAD_AIR_S = 14.0


def _tokens(text: str, language: str) -> list[str]:
    if language != "zh":
        return text.split()
    out: list[str] = []
    for ch in text:
        if out and (ch in "，。？！、：；" or len(out[-1]) < 2 and out[-1][-1] not in "，。？！、：；"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _words(text: str, language: str, start: float) -> tuple[Word, ...]:
    words = []
    t = start
    for tok in _tokens(text, language):
        length = 0.22 * len(tok) if language == "zh" else 0.12 + 0.055 * len(tok)
        words.append(Word(tok, round(t, 3), round(t + length, 3), 0.95))
        t += length + 0.04
    return tuple(words)


def line_evidence(criterion: str, passed: bool, language: str, start: float, end: float, name: str) -> list[dict[str, Any]]:
    """Evidence items of one criterion whose evidence is one agent line at [start, end]."""
    rule = _RULES[criterion]
    if criterion == "dead_air":
        if passed:
            return []
        return [{"speaker": None, "start": start, "end": start + _DEAD_AIR_S, "text": f"{_DEAD_AIR_S:.0f} s of silence", "rule": rule}]
    if criterion not in _LINES:
        return []
    text = _LINES[criterion][language][0 if passed else 1].format(name=name or ("Sam" if language == "en" else "小王"))
    if criterion == "interruptions" and passed:
        return []
    if criterion == "hold_etiquette" and not passed:
        return [{"speaker": None, "start": start, "end": end, "text": f"{_HOLD_S:.0f} s hold without announcement", "rule": rule}]
    if criterion in ("greeting", "closing", "self_identification", "active_listening", "empathy", "hold_etiquette") and not passed:
        return []
    return [{"speaker": "agent", "start": start, "end": end, "text": text, "rule": rule}]


def _script(call: pd.Series, verdicts: dict[str, str], language: str) -> tuple[list[Turn], dict[str, list[dict[str, Any]]]]:
    """Lay out one call whose behaviour matches its verdicts; return turns and evidence."""
    name = str(call["agent_name"]).split()[0] if language == "en" else str(call["agent_name"])
    turns: list[Turn] = []
    evidence: dict[str, list[dict[str, Any]]] = {c: [] for c in verdicts}
    t = 0.6

    def say(speaker: Speaker, text: str, at: float) -> Turn:
        turn = Turn(speaker, _words(text, language, at), 0 if speaker is Speaker.AGENT else 1)
        turns.append(turn)
        return turn

    def agent_line(criterion: str, at: float) -> Turn:
        passed = verdicts.get(criterion) == "pass"
        text = _LINES[criterion][language][0 if passed else 1].format(name=name)
        turn = say(Speaker.AGENT, text, at)
        evidence[criterion] = line_evidence(criterion, passed, language, turn.start, turn.end, name)
        return turn

    t = agent_line("greeting", t).end + 0.5
    t = agent_line("self_identification", t).end + 0.7
    t = say(Speaker.CUSTOMER, _CUSTOMER["issue"][language], t).end + 0.4
    if verdicts.get("empathy") != "na":
        frustrated = say(Speaker.CUSTOMER, _CUSTOMER["frustration"][language], t)
        t = frustrated.end + 0.7
    t = agent_line("active_listening", t).end + 0.6
    if verdicts.get("empathy") != "na":
        t = agent_line("empathy", t).end + 0.6
    account = say(Speaker.CUSTOMER, _CUSTOMER["account"][language], t)
    interrupted = verdicts.get("interruptions") == "fail"
    at = account.end - _INTERRUPT_OVERLAP_S if interrupted else account.end + 0.6
    t = max(agent_line("interruptions", at).end, account.end) + 0.6
    if interrupted:
        first = turns[-1]
        evidence["interruptions"] = [
            {"speaker": "agent", "start": first.start, "end": account.end, "text": first.text, "rule": _RULES["interruptions"]}
        ]
    if verdicts.get("hold_etiquette") != "na":
        announced = verdicts["hold_etiquette"] == "pass"
        if announced:
            ask = agent_line("hold_etiquette", t)
            hold_start = ask.end + 0.3
        else:
            hold_start = t
        back = say(Speaker.AGENT, _HOLD_THANKS[language] if announced else _LINES["hold_etiquette"][language][1], hold_start + _HOLD_S)
        if announced:
            evidence["hold_etiquette"].append(
                {"speaker": "agent", "start": back.start, "end": back.end, "text": back.text, "rule": _RULES["hold_etiquette"]}
            )
        else:
            evidence["hold_etiquette"] = [
                {"speaker": None, "start": hold_start, "end": back.start, "text": f"{_HOLD_S:.0f} s hold without announcement", "rule": _RULES["hold_etiquette"]}
            ]
        t = back.end + 0.6
    t = agent_line("positive_language", t).end + 0.6
    if verdicts.get("dead_air") == "fail":
        evidence["dead_air"] = line_evidence("dead_air", False, language, round(t, 3), 0, name)
        t += _DEAD_AIR_S
    t = say(Speaker.CUSTOMER, _CUSTOMER["thanks"][language], t).end + 0.5
    agent_line("closing", t)
    for c, v in verdicts.items():
        if v == "na":
            evidence[c] = []
    return turns, evidence


def write_transcripts(
    frames: Frames, folder: str | Path, call_ids: Iterable[str], audio: bool = False
) -> Frames:
    """Write a transcript (and optionally a silent stereo WAV) for each chosen call.

    The chosen calls' criteria rows get evidence that points at the transcript's words, and
    their ``transcript_path`` (and ``audio_path``) are set.

    Args:
        frames: Synthetic frames (from :func:`synth_frames`).
        folder: Output folder; transcripts go to ``<folder>/transcripts``, audio to
            ``<folder>/audio``.
        call_ids: Calls to write.
        audio: Also write 8 kHz silent recordings of the right length.

    Returns:
        New frames with the paths and evidence filled in.
    """
    folder = Path(folder)
    wanted = list(dict.fromkeys(str(c) for c in call_ids))
    calls = frames.calls.set_index("call_id", drop=False)
    crit = frames.criteria
    rows = crit.loc[crit["call_id"].isin(wanted)]
    verdicts: dict[str, dict[str, str]] = {}
    for cid, cr, v in zip(rows["call_id"], rows["criterion_id"], rows["verdict"]):
        verdicts.setdefault(cid, {})[cr] = v
    # Imported here: synthetic_results re-exports this function, so a module-level import would
    # make the two modules import each other.
    from qa_pipeline.synthetic_results import CHINESE_NAME

    chinese = {a for a, n in zip(frames.calls["agent_id"], frames.calls["agent_name"]) if n == CHINESE_NAME}
    new_evidence: dict[tuple[str, str], list[dict[str, Any]]] = {}
    transcript_paths: dict[str, str] = {}
    audio_paths: dict[str, str] = {}
    (folder / "transcripts").mkdir(parents=True, exist_ok=True)
    for cid in wanted:
        call = calls.loc[cid]
        language = "zh" if call["agent_id"] in chinese else "en"
        turns, evidence = _script(call, verdicts.get(cid, {}), language)
        duration = round(max(t.end for t in turns) + 1.0, 3)
        wav = folder / "audio" / f"{cid}.wav"
        inferred = bool(call["roles_inferred"])
        transcript = Transcript(
            call_id=cid,
            audio=AudioInfo(str(wav), "0" * 64, duration, 8000, 1 if inferred else 2, "pcm_s16le", "wav"),
            roles=RoleAssignment(
                RolesSource.INFERRED if inferred else RolesSource.CHANNEL,
                "mono_alternation" if inferred else "configured",
                None if inferred else 0,
                0.7 if inferred else 1.0,
                "synthetic call",
            ),
            language=language,
            engine="synthetic",
            model="none",
            turns=merge_turns(turns),
        )
        path = transcript.save(folder / "transcripts" / f"{cid}.json")
        transcript_paths[cid] = str(path)
        if audio:
            import soundfile as sf

            wav.parent.mkdir(parents=True, exist_ok=True)
            channels = 1 if inferred else 2
            sf.write(wav, np.zeros((int(duration * 8000), channels), dtype=np.int16), 8000, subtype="PCM_16")
            audio_paths[cid] = str(wav)
        for criterion, items in evidence.items():
            new_evidence[(cid, criterion)] = items
    new_calls = frames.calls.copy()
    new_calls["transcript_path"] = [transcript_paths.get(c, p) for c, p in zip(new_calls["call_id"], new_calls["transcript_path"])]
    new_calls["audio_path"] = [audio_paths.get(c, p) for c, p in zip(new_calls["call_id"], new_calls["audio_path"])]
    new_crit = crit.copy()
    mask = new_crit["call_id"].isin(wanted).to_numpy()
    keys = zip(new_crit.loc[mask, "call_id"], new_crit.loc[mask, "criterion_id"])
    new_crit.loc[mask, "evidence"] = pd.Series([new_evidence.get(k, []) for k in keys], index=new_crit.index[mask], dtype=object)
    return Frames(new_calls, new_crit)
