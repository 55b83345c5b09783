"""What a report render is asked for (:class:`ReportOptions`) and what it wrote (:class:`SiteResult`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from qa_pipeline.options import from_dict

TEAM_PDF = "qa-report.pdf"
# Browser-playable copies of recordings browsers cannot play (μ-law, A-law…).
AUDIO_DIR = "audio"


@dataclass(frozen=True)
class ReportOptions:
    """What the reports show and how much.

    Attributes:
        title: Report title.
        worst_calls: Worst calls listed (and given a call page) per agent.
        best_calls: Best calls listed (and given a call page) per agent.
        max_labels: Agents named on each team's scatter panel at most (the best and worst,
            flagged and extreme ones first; names that would hide a point are left out).
        heatmap_agents: Agents on the pass-rate heatmap (the lowest-scoring when there are more).
        trend_agents: Agents in the small-multiple trend chart (the clearest trends).
        aht_agents: Agents on the handle-time chart (the longest when there are more).
        outlier_rows: Out-of-limit calls listed on the overview.
        silence_seconds: Gaps at least this long are marked on call timelines.
        overlap_seconds: Overlaps at least this long are marked on call timelines.
        pdf: Write the team PDF with the site.
        generated_at: Timestamp printed on the reports (UTC); None = now.
        workers: Processes that render agent and call pages; 0 = one per available core,
            1 = render in this process. Processes are forked, so this applies where ``fork``
            is available (Linux, macOS); elsewhere pages are rendered in this process.
    """

    title: str = "Call quality report"
    worst_calls: int = 3
    best_calls: int = 2
    max_labels: int = 15
    heatmap_agents: int = 40
    trend_agents: int = 8
    aht_agents: int = 40
    outlier_rows: int = 25
    silence_seconds: float = 3.0
    overlap_seconds: float = 0.3
    pdf: bool = True
    generated_at: datetime | None = None
    workers: int = 0

    def __post_init__(self) -> None:
        for name in ("worst_calls", "best_calls", "max_labels", "heatmap_agents", "trend_agents", "aht_agents", "outlier_rows"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.workers < 0:
            raise ValueError("workers must be >= 0")
        if self.silence_seconds <= 0 or self.overlap_seconds <= 0:
            raise ValueError("silence_seconds and overlap_seconds must be positive")

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | ReportOptions | None") -> "ReportOptions":
        return from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["generated_at"] = self.generated_at.isoformat() if self.generated_at else None
        return out


@dataclass(frozen=True)
class SiteResult:
    """What a render wrote.

    Attributes:
        out_dir: The output folder.
        index: The overview page, if written.
        agent_pages: Agent pages written.
        call_pages: Call pages written.
        pdfs: PDF files written.
        timings: Seconds per stage, in order.
        calibration: The calibration page, if written.
        calls_unchanged: Call pages kept because their inputs did not change.
        cpu_timings: CPU seconds per stage, in order: this process and the page workers that
            finished during the stage (wall time says little on a shared machine).
    """

    out_dir: Path
    index: Path | None
    agent_pages: tuple[Path, ...]
    call_pages: tuple[Path, ...]
    pdfs: tuple[Path, ...]
    timings: tuple[tuple[str, float], ...]
    calibration: Path | None = None
    calls_unchanged: int = 0
    cpu_timings: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "index": str(self.index) if self.index else None,
            "agent_pages": [str(p) for p in self.agent_pages],
            "call_pages": [str(p) for p in self.call_pages],
            "pdfs": [str(p) for p in self.pdfs],
            "timings": dict(self.timings),
            "calibration": str(self.calibration) if self.calibration else None,
            "calls_unchanged": self.calls_unchanged,
            "cpu_timings": dict(self.cpu_timings),
        }
