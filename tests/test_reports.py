"""The report site and PDFs, from a synthetic store of 12 agents × 60 days."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qa_pipeline.cli.app import new_app
from qa_pipeline.cli.report import agent as agent_command
from qa_pipeline.cli.report import report as report_command
from qa_pipeline.cli.report import sparkline
from qa_pipeline.report import ReportOptions, render_agent_report, render_site, write_reports
from qa_pipeline.report.env import environment
from qa_pipeline.report.filters import mmss, percent, slugify, unique_slugs
from qa_pipeline.stats import Frames, StatsOptions, analyse, prepare_frames, write_frames
from qa_pipeline.synthetic_results import CHINESE_NAME, SynthStoreOptions, pick_calls, synth_frames, write_transcripts
from qa_pipeline.transcript import Transcript, Turn, Word

HOSTILE = "<script>alert(1)</script>"
HOSTILE_ID = "../A008 <b>"
PERIOD = StatsOptions(period_from="2026-09-01", period_to="2026-10-30")
try:
    import weasyprint  # noqa: F401

    HAVE_WEASYPRINT = True
except (ImportError, OSError):  # OSError: the Pango library is missing
    HAVE_WEASYPRINT = False
needs_pdf = pytest.mark.skipif(
    not HAVE_WEASYPRINT or shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None,
    reason="needs WeasyPrint (with Pango) and poppler-utils (pdftoppm, pdftotext)",
)


def _rename(frames: Frames, agent_id: str, new_id: str | None = None, new_name: str | None = None) -> Frames:
    calls, crit = frames.calls.copy(), frames.criteria.copy()
    if new_name is not None:
        calls.loc[calls["agent_id"] == agent_id, "agent_name"] = new_name
    if new_id is not None:
        calls.loc[calls["agent_id"] == agent_id, "agent_id"] = new_id
        crit.loc[crit["agent_id"] == agent_id, "agent_id"] = new_id
    return prepare_frames(calls, crit)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """The rendered site, with a hostile agent name, a hostile agent id and hostile transcript text."""
    root = tmp_path_factory.mktemp("site")
    synth = synth_frames(SynthStoreOptions(agents=12, days=60, seed=0))
    frames = _rename(synth.frames, "A007", new_name=HOSTILE)
    frames = _rename(frames, "A008", new_id=HOSTILE_ID)
    chosen = pick_calls(frames, worst=3, best=2)
    frames = write_transcripts(frames, root / "data", chosen)
    # Recordings for two calls only: the others must show no player.
    with_audio = [c for c in chosen if c in set(frames.calls.loc[frames.calls["agent_id"] == "A003", "call_id"])][:2]
    frames = write_transcripts(frames, root / "data", with_audio, audio=True)
    # Untrusted words in a transcript of the hostile-named agent.
    hostile_call = frames.calls.loc[(frames.calls["agent_id"] == "A007") & frames.calls["transcript_path"].notna(), "call_id"].iloc[0]
    path = root / "data" / "transcripts" / f"{hostile_call}.json"
    t = Transcript.load(path)
    first = t.turns[0]
    words = (Word(HOSTILE, first.words[0].start, first.words[0].end),) + first.words[1:]
    replace(t, turns=(Turn(first.speaker, words, first.channel),) + t.turns[1:]).save(path)

    analysis = analyse(frames, PERIOD)
    opts = ReportOptions(generated_at=pd.Timestamp("2026-11-01 06:00").to_pydatetime(), pdf=HAVE_WEASYPRINT)
    result = render_site(analysis, root / "reports", opts)
    return {"root": root, "frames": frames, "analysis": analysis, "result": result, "hostile_call": hostile_call,
            "audio_calls": with_audio, "out": root / "reports"}


class Links(HTMLParser):
    """Collects hrefs, srcs, marks and audio elements of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.sources: list[str] = []
        self.marks = 0
        self.audio: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag == "audio":
            self.audio.append(a.get("src") or "")
        if tag == "mark":
            self.marks += 1


def parse(path: Path) -> Links:
    p = Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def resolve(page: Path, href: str) -> Path | None:
    parts = urlsplit(href)
    if parts.scheme or not parts.path:
        return None
    return (page.parent / unquote(parts.path)).resolve()


# ----------------------------------------------------------------------------- the site


def test_every_agent_has_a_page_and_every_link_resolves(site) -> None:
    out: Path = site["out"]
    analysis = site["analysis"]
    result = site["result"]
    assert len(analysis.agents) == 12
    assert len(result.agent_pages) == 12 and all(p.is_file() for p in result.agent_pages)
    index = parse(out / "index.html")
    agent_links = {resolve(out / "index.html", h) for h in index.links if "agents/" in h}
    assert agent_links == {p.resolve() for p in result.agent_pages}
    checked = 0
    for page in [out / "index.html", *result.agent_pages, *result.call_pages]:
        for href in parse(page).links:
            target = resolve(page, href)
            if target is not None:
                assert target.is_file(), f"{page.name}: broken link {href}"
                assert out.resolve() in target.parents or target.suffix == ".wav"
                checked += 1
    assert checked > 100
    # Every call of the period has a page; those with a transcript show the conversation.
    assert len(result.call_pages) == len(analysis.calls)
    full = [p for p in result.call_pages if 'class="conversation"' in p.read_text(encoding="utf-8")]
    assert len(full) == 12 * 5
    # Every call id shown in a table is a link to its page.
    ids = set(analysis.calls["call_id"])
    for page in [out / "index.html", *result.agent_pages]:
        text = page.read_text(encoding="utf-8")
        for cell in re.findall(r"<td>(C\d{7})", text):
            pytest.fail(f"{page.name}: call {cell} is not a link")
        assert all(cid in ids for cid in re.findall(r'calls/(C\d{7})\.html', text))


def test_untrusted_text_is_escaped_everywhere(site) -> None:
    out: Path = site["out"]
    pages = list(out.rglob("*.html"))
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert HOSTILE not in text, page
        assert "<b>" not in text, page  # from the hostile agent id
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escaped in (out / "index.html").read_text(encoding="utf-8")
    agent_page = out / "agents" / f"{unique_slugs(site['analysis'].agents['agent_id'])['A007']}.html"
    assert escaped in agent_page.read_text(encoding="utf-8")
    call_page = out / "calls" / f"{site['hostile_call']}.html"
    assert escaped in call_page.read_text(encoding="utf-8")


def test_untrusted_ids_make_safe_file_names(site) -> None:
    out: Path = site["out"]
    slug = slugify(HOSTILE_ID)
    assert "/" not in slug and "<" not in slug and not slug.startswith(".")
    assert (out / "agents" / f"{slug}.html").is_file()
    assert not (out.parent / "A008 <b>.html").exists()
    for page in out.rglob("*"):
        assert out.resolve() in page.resolve().parents
        assert re.fullmatch(r"[A-Za-z0-9._-]+", page.name), page.name
    assert slugify("A001") == "A001"
    assert slugify("con") != "con" and slugify("王小明").startswith("id-")
    assert len(set(unique_slugs(["a1", "A1"]).values())) == 2


def test_call_page_marks_evidence_in_place(site) -> None:
    out: Path = site["out"]
    frames = site["frames"]
    call_id = site["audio_calls"][0]
    page = out / "calls" / f"{call_id}.html"
    html = page.read_text(encoding="utf-8")
    parsed = parse(page)
    assert parsed.marks >= 2
    # Every quote of an agent's evidence is inside a <mark>.
    crit = frames.criteria.loc[frames.criteria["call_id"] == call_id]
    quoted = [e for ev in crit["evidence"] for e in ev if e["speaker"] == "agent"]
    assert quoted
    marked = " ".join(re.findall(r"<mark[^>]*>(.*?)</mark>", html))
    for e in quoted:
        first_word = e["text"].split()[0]
        assert first_word in marked
    # The recording plays from a relative path, and evidence times seek into it.
    assert len(parsed.audio) == 1
    src = parsed.audio[0]
    assert not src.startswith("/") and (page.parent / unquote(src)).resolve().is_file()
    assert re.search(r'class="seek" href="[^"]+\.wav#t=\d+\.\d\d"', html)
    # The timeline shows both parties.
    assert 'class="timeline"' in html and 'class="agent"' in html and 'class="customer"' in html


def test_timeline_marks_holds_overlaps_and_silences(site) -> None:
    frames = site["frames"]
    out: Path = site["out"]
    crit = frames.criteria.set_index(["call_id", "criterion_id"])["verdict"]
    kinds = {"hold": ("hold_etiquette", "pass"), "overlap": ("interruptions", "fail"), "silence": ("dead_air", "fail")}
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (out / "calls").glob("*.html")}
    # Only pages made from a transcript have a timeline.
    pages = {k: v for k, v in pages.items() if 'class="timeline"' in v}
    for kind, (criterion, verdict) in kinds.items():
        calls = [c for c in pages if crit.get((c, criterion)) == verdict]
        assert calls, f"no rendered call with {criterion} {verdict}"
        assert f'<rect class="{kind}"' in pages[calls[0]], kind


def test_call_without_recording_has_no_player(site) -> None:
    out: Path = site["out"]
    others = [p for p in sorted((out / "calls").glob("*.html")) if p.stem not in site["audio_calls"]
              and 'class="conversation"' in p.read_text(encoding="utf-8")]
    html = others[0].read_text(encoding="utf-8")
    assert "<audio" not in html and "Recording not reachable" in html
    assert 'class="seek"' not in html


def test_agent_page_content(site) -> None:
    out: Path = site["out"]
    a = site["analysis"]
    html = (out / "agents" / "A001.html").read_text(encoding="utf-8")
    assert "Encourage" in html and "encourage rather than criticise" in html
    assert "Individual problems" in html and "Self-identification" in html
    assert html.count('<svg class="chart"') == 1 and html.count('<svg class="spark"') >= 8
    assert "Worst calls" in html and "Best calls" in html
    # The chart's text is text, not glyph outlines.
    chart = html[html.index('<svg class="chart"'):]
    assert "<text" in chart[: chart.index("</svg>")]
    zh = (out / "agents" / "A006.html").read_text(encoding="utf-8")
    assert CHINESE_NAME in zh and 'lang="zh"' in zh
    assert a.agent("A002")["flag"] == "early_warning"
    assert "Early warning" in (out / "agents" / "A002.html").read_text(encoding="utf-8")


def test_index_content(site) -> None:
    html = (site["out"] / "index.html").read_text(encoding="utf-8")
    for heading in ("Coaching flags", "Leader table", "Pass rate by criterion and agent", "Common problems",
                    "Control limits", "Handle time", "Trends"):
        assert heading in html
    assert html.count('<svg class="chart"') == 7
    assert CHINESE_NAME in html
    # Chart text stays text, with a CJK fallback font where one is installed.
    from qa_pipeline.report.charts import font_families

    if "Noto Sans CJK SC" in font_families():
        assert "Noto Sans CJK SC" in html
    # Element ids are unique across the inline charts.
    ids = re.findall(r' id="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_environment_autoescapes() -> None:
    env = environment()
    assert env is environment()
    assert env.from_string("{{ x }}").render(x=HOSTILE) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert env.get_template("agent.html.j2").environment is env
    assert mmss(125.4) == "2:05" and mmss(3725) == "1:02:05" and mmss(None) == "–"
    assert percent(0.853) == "85%" and percent(float("nan")) == "–"


# ----------------------------------------------------------------------------- PDF


def _png_pages(pdf: Path, tmp: Path, first: int = 1, last: int = 1) -> list[np.ndarray]:
    from PIL import Image

    prefix = tmp / pdf.stem
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", str(first), "-l", str(last), str(pdf), str(prefix)], check=True)
    return [np.asarray(Image.open(p).convert("L"), dtype=float) for p in sorted(tmp.glob(f"{pdf.stem}*.png"))]


@needs_pdf
def test_team_pdf_renders_with_page_numbers_and_chinese(site, tmp_path: Path) -> None:
    pdf = site["out"] / "qa-report.pdf"
    assert site["result"].pdfs == (pdf,)
    pages = _png_pages(pdf, tmp_path, 1, 3)
    assert len(pages) == 3
    for px in pages:
        assert px.var() > 100, "blank page"  # white page: variance 0
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert CHINESE_NAME in text
    n = int(subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout.split("Pages:")[1].split()[0])
    assert re.search(rf"\b1 ?/ ?{n}\b", text) and re.search(rf"\b{n} ?/ ?{n}\b", text)
    assert "2026-09-01 – 2026-10-30" in text and "generated 2026-11-01 06:00" in text
    assert "<script>alert(1)" in text and "&lt;" not in text  # printed literally, as text


@needs_pdf
def test_agent_pdf_for_the_chinese_agent(site, tmp_path: Path) -> None:
    result = render_agent_report(site["analysis"], "A006", tmp_path / "one", ReportOptions(workers=1), pdf=True)
    (pdf,) = result.pdfs
    assert pdf.name == "A006.pdf" and result.agent_pages[0].name == "A006.html"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert CHINESE_NAME in text
    assert re.search(r"[\u4e00-\u9fff]{4,}", text.replace(CHINESE_NAME, "")), "Chinese evidence text"
    pages = _png_pages(pdf, tmp_path)
    assert pages[0].var() > 100
    # Dark pixels where the title is: the name is drawn, not left as missing-glyph boxes only.
    assert (pages[0] < 128).mean() > 0.002


# ----------------------------------------------------------------------------- command line


@pytest.fixture(scope="module")
def exported(site) -> tuple[Path, Path]:
    return write_frames(site["frames"], site["root"] / "export")


def _app():
    app = new_app("test")
    app.command("report")(report_command)
    app.command("agent")(agent_command)
    return app


def test_cli_report_for_one_agent(exported, tmp_path: Path) -> None:
    calls, criteria = exported
    out = tmp_path / "r"
    res = CliRunner().invoke(_app(), ["report", "--calls", str(calls), "--criteria", str(criteria), "--from", "2026-09-01",
                                      "--to", "2026-10-30", "--out", str(out), "--agent", "A002", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert (out / "agents" / "A002.html").is_file() and not (out / "index.html").exists()
    assert not list(out.rglob("*.pdf"))
    n_calls = int((pd.read_csv(calls)["agent_id"] == "A002").sum())
    assert f"1 agent page(s), {n_calls} call page(s)" in res.output
    assert len(list((out / "calls").glob("*.html"))) == n_calls
    # A second run keeps the unchanged call pages.
    res = CliRunner().invoke(_app(), ["report", "--calls", str(calls), "--criteria", str(criteria), "--from", "2026-09-01",
                                      "--to", "2026-10-30", "--out", str(out), "--agent", "A002", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert f"1 agent page(s), 0 call page(s) ({n_calls} unchanged call page(s) kept)" in res.output


def test_cli_agent_drilldown(exported, site) -> None:
    calls, criteria = exported
    res = CliRunner().invoke(_app(), ["agent", "A001", "--calls", str(calls), "--criteria", str(criteria),
                                      "--from", "2026-09-01", "--to", "2026-10-30", "--reports", str(site["out"])],
                            env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "Alice Adams" in res.output and "Encourage" in res.output and "improving" in res.output
    assert "Individual problems" in res.output and "Self-identification" in res.output
    assert re.search(r"[▁▂▃▄▅▆▇█]{5,}", res.output)
    assert str(site["out"] / "calls") in res.output
    hostile = CliRunner().invoke(_app(), ["agent", "A007", "--calls", str(calls), "--criteria", str(criteria),
                                          "--from", "2026-09-01", "--to", "2026-10-30"])
    assert hostile.exit_code == 0 and HOSTILE in hostile.output  # literal text, no markup interpretation
    assert sparkline([1.0, 2.0, 3.0]) == "▁▅█"


def test_cli_errors(exported, tmp_path: Path) -> None:
    calls, criteria = exported
    bad = tmp_path / "calls.csv"
    pd.read_csv(calls).drop(columns=["call_score"]).to_csv(bad, index=False)
    res = CliRunner().invoke(_app(), ["report", "--calls", str(bad), "--criteria", str(criteria), "--out", str(tmp_path / "x")])
    assert res.exit_code == 1
    assert f"Error: {bad}: missing required column(s) call_score" in res.output
    res = CliRunner().invoke(_app(), ["agent", "NOPE", "--calls", str(calls), "--criteria", str(criteria)])
    assert res.exit_code == 1 and "agent 'NOPE' has no calls" in res.output
    res = CliRunner().invoke(_app(), ["report", "--calls", str(calls)])
    assert res.exit_code == 2 and "--calls and --criteria go together" in res.output  # a usage error
    res = CliRunner().invoke(_app(), ["report", "--calls", str(calls), "--criteria", str(criteria), "--from", "01/09/2026"])
    assert res.exit_code == 2


def test_tiny_team_without_criteria_or_transcripts(tmp_path: Path) -> None:
    rows = [(f"{a}{d}", a, team, pd.Timestamp("2026-11-01") + pd.Timedelta(days=d), 120.0, 80.0 + d)
            for a, n, team in (("solo", 1, "T2"), ("pair", 2, "T1"), ("many", 12, "T1")) for d in range(n)]
    calls = pd.DataFrame(rows, columns=["call_id", "agent_id", "team", "started_at", "duration_s", "call_score"])
    frames = prepare_frames(calls, pd.DataFrame({"call_id": [], "criterion_id": [], "verdict": []}))
    period = StatsOptions(period_from="2026-11-01", period_to="2026-11-30")
    a = analyse(frames, period)
    assert a.agents.set_index("agent_id")["flag"].to_dict() == {"many": "recognise", "pair": "insufficient_data", "solo": "insufficient_data"}
    result = write_reports(frames, tmp_path, period, ReportOptions(workers=1, pdf=False))
    assert len(result.agent_pages) == 3 and not result.pdfs
    # Calls without a transcript still get a page, saying why there is no conversation.
    assert len(result.call_pages) == len(calls)
    page = (tmp_path / "calls" / "solo0.html").read_text(encoding="utf-8")
    assert "No transcript is stored for this call" in page and 'class="conversation"' not in page
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Pass rate by criterion and agent" not in html and "Insufficient data" in html


# ----------------------------------------------------------------------------- recordings


def _player_src(page: Path) -> Path:
    parsed = parse(page)
    assert len(parsed.audio) == 1, page
    src = parsed.audio[0]
    assert src and not src.startswith("/") and not urlsplit(src).scheme, src
    return (page.parent / unquote(src)).resolve()


def test_mulaw_recording_gets_a_pcm_copy_for_the_player(site, tmp_path: Path) -> None:
    import soundfile as sf

    ulaw_call, pcm_call = site["audio_calls"]
    ulaw = tmp_path / "rec" / "ulaw.wav"
    ulaw.parent.mkdir()
    t = np.arange(8000) / 8000
    tone = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 660 * t)], axis=1)
    sf.write(ulaw, tone, 8000, subtype="ULAW")
    assert sf.info(str(ulaw)).subtype == "ULAW"
    calls = site["frames"].calls.copy()
    calls.loc[calls["call_id"] == ulaw_call, "audio_path"] = str(ulaw)
    # A third call of the same agent whose recording has gone.
    gone_call = next(c for c in pick_calls(site["frames"], worst=3, best=2)
                     if c not in (ulaw_call, pcm_call) and calls.set_index("call_id").at[c, "agent_id"] == "A003")
    calls.loc[calls["call_id"] == gone_call, "audio_path"] = str(tmp_path / "rec" / "gone.wav")
    frames = replace(site["frames"], calls=calls)
    analysis = analyse(frames, PERIOD)
    out = tmp_path / "reports"
    opts = ReportOptions(workers=1, pdf=False)
    render_agent_report(analysis, "A003", out, opts, pdf=False)

    page = out / "calls" / f"{ulaw_call}.html"
    copy = out / "audio" / f"{ulaw_call}.wav"
    assert _player_src(page) == copy.resolve() and copy.is_file()
    info = sf.info(str(copy))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", 8000, 2)
    expected, _ = sf.read(ulaw, dtype="int16")
    copied, _ = sf.read(copy, dtype="int16")
    np.testing.assert_array_equal(copied, expected)
    html = page.read_text(encoding="utf-8")
    assert re.search(rf'class="seek" href="\.\./audio/{ulaw_call}\.wav#t=\d+\.\d\d"', html)
    # Browsers play 16-bit PCM as it is: the recording's bytes, copied into the site so a
    # copied site keeps its sound.
    pcm_page = out / "calls" / f"{pcm_call}.html"
    pcm_copy = out / "audio" / f"{pcm_call}.wav"
    assert _player_src(pcm_page) == pcm_copy.resolve()
    assert pcm_copy.read_bytes() == Path(calls.set_index("call_id").at[pcm_call, "audio_path"]).read_bytes()
    assert sorted(p.name for p in (out / "audio").iterdir()) == sorted([f"{ulaw_call}.wav", f"{pcm_call}.wav"])
    # A recording that is gone shows a note, not an empty player.
    gone = (out / "calls" / f"{gone_call}.html").read_text(encoding="utf-8")
    assert "<audio" not in gone and "Recording not reachable" in gone and 'class="seek"' not in gone
    # The copy is made once: a second render leaves it alone.
    before = copy.stat().st_mtime_ns
    render_agent_report(analysis, "A003", out, opts, pdf=False)
    assert copy.stat().st_mtime_ns == before


# ----------------------------------------------------------------------------- charts


def test_fitted_lines_span_only_the_observed_weeks() -> None:
    from qa_pipeline.report.charts import fit_span

    origin = pd.Timestamp("2026-09-01")
    weeks = pd.to_datetime(["2026-09-14", "2026-09-21", "2026-09-28"])
    xs, ys = fit_span(weeks, origin, 50.0, 2.0)
    assert xs == [pd.Timestamp("2026-09-17 12:00"), pd.Timestamp("2026-10-01 12:00")]
    assert ys == pytest.approx([50 + 2 * 16.5 / 7, 50 + 2 * 30.5 / 7])
    # One week of data (a steep slope fitted within it) or no fit: no line at all.
    assert fit_span(weeks[:1], origin, -300.0, 100.0) is None
    assert fit_span(weeks, origin, float("nan"), 1.0) is None


def test_team_trend_stays_on_the_score_scale(site) -> None:
    import warnings

    from qa_pipeline.report import charts, scatter

    a = site["analysis"]
    one_week = a.team_weekly.loc[a.team_weekly["week"] == a.team_weekly["week"].max()]
    teams = a.teams.assign(intercept=-300.0, slope_per_week=100.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg_text = str(charts.team_trends(one_week, teams, a.period.start_ts, a.period.end_ts))
        # No agent with a trend: the team's scatters still draw, without a warning.
        team = a.agents["team"].iloc[0]
        scatter.team_scatter(a.agents.loc[a.agents["team"] == team].assign(slope_per_week=np.nan), team, 300.0, 1.5)
    ticks = [float(t.replace("\u2212", "-")) for t in re.findall(r">(\u2212?\d+(?:\.\d+)?)</text>", svg_text)]
    assert ticks and min(ticks) >= 0 and max(ticks) <= 100


# ----------------------------------------------------------------------------- qa.toml


def test_cli_report_and_agent_default_to_qa_toml(exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, criteria = exported
    (tmp_path / "qa.toml").write_text('db = "stores/team.db"\nreports = "site-out"\n[report]\ntitle = "Cards QA"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(_app(), ["report", "--calls", str(calls), "--criteria", str(criteria), "--from", "2026-09-01",
                                      "--to", "2026-10-30", "--agent", "A002", "--workers", "1"])
    assert res.exit_code == 0, res.output
    page = tmp_path / "site-out" / "agents" / "A002.html"
    assert page.is_file() and not (tmp_path / "reports").exists()
    assert "Cards QA" in page.read_text(encoding="utf-8")
    res = CliRunner().invoke(_app(), ["agent", "A002", "--calls", str(calls), "--criteria", str(criteria),
                                      "--from", "2026-09-01", "--to", "2026-10-30"], env={"COLUMNS": "250"})
    assert res.exit_code == 0 and str(tmp_path / "site-out" / "agents" / "A002.html") in res.output
    # Without exported tables both read the store named in qa.toml.
    for args in (["report"], ["agent", "A002"]):
        res = CliRunner().invoke(_app(), args)
        assert res.exit_code == 2 and f"{tmp_path / 'stores' / 'team.db'}: no results store" in res.output, res.output


# ----------------------------------------------------------------------------- chart labels


def test_label_placer_never_overlaps_or_hides_a_point() -> None:
    from qa_pipeline.report.labels import covers, intersects, place_labels

    rng = np.random.default_rng(7)
    points = [(float(x), float(y)) for x, y in rng.uniform(0, 300, size=(80, 2))]
    sizes = [(float(w), 9.0) for w in rng.uniform(20, 70, size=80)]
    placed = place_labels(points, sizes, (0, 0, 300, 300), radius=3.0)
    assert 10 < len(placed) < 80  # a crowded plot: some names are dropped, many are placed
    boxes = [p.box for p in placed]
    for i, a in enumerate(boxes):
        assert 0 <= a[0] and a[2] <= 300 and 0 <= a[1] and a[3] <= 300
        assert not any(intersects(a, b) for b in boxes[i + 1 :])
        assert not any(covers(a, x, y, 3.0) for x, y in points)
    # Priority order: the first label has room and is placed next to its point.
    assert placed[0].index == 0 and not placed[0].leader


def test_team_scatters_hide_nothing_and_draw_the_team_median(site) -> None:
    from qa_pipeline.report import charts, scatter

    a = site["analysis"]
    for team, agents in a.agents.groupby("team"):
        with charts.charting():
            fig, layouts = scatter.team_scatter_layout(agents, team, 240.0, a.options.cv_factor, max_labels=50)
            # The team's median is drawn in every panel at the height the flags use.
            medians = {round(float(line.get_ydata()[0]), 6) for ax in fig.axes for line in ax.get_lines() if line.get_linestyle() == "--"}
        assert medians == {round(float(agents["team_median"].iloc[0]), 6)}
        assert [lay.name for lay in layouts] == ["trend", "consistency", "handle time"]
        for lay in layouts:
            assert scatter.overlaps(lay) == []
            assert lay.labels and len(lay.fixed) >= 2


# ----------------------------------------------------------------------------- what the period leaves out


def test_every_page_says_what_the_period_leaves_out(tmp_path: Path) -> None:
    from qa_pipeline.report.coverage import agent_outside_hint, coverage

    synth = synth_frames(SynthStoreOptions(agents=4, days=40, seed=1))
    frames = synth.frames
    first = frames.calls["started_at"].min().date()
    stats = StatsOptions(period_from=str(first + pd.Timedelta(days=20)))
    result = write_reports(frames, tmp_path, stats, ReportOptions(workers=1, pdf=False))
    older = int((frames.calls["started_at"] < pd.Timestamp(first + pd.Timedelta(days=20))).sum())
    sentence = f"{older:,} older calls (from {first.isoformat()}) not shown; run `qa report --from {first.isoformat()}` to include them."
    for page in [result.index, *result.agent_pages]:
        assert sentence in page.read_text(encoding="utf-8"), page
    # Call pages take the line from the shared script, so a moving period does not make them stale.
    call_page = result.call_pages[0].read_text(encoding="utf-8")
    assert '<script src="../period.js"></script>' in call_page and 'id="coverage-line"' in call_page
    assert json_string(sentence) in (tmp_path / "period.js").read_text(encoding="utf-8")
    # An agent with calls only before the period is told where they are.
    a = analyse(frames, stats)
    assert "has" in agent_outside_hint(frames.calls, frames.calls["agent_id"].iloc[0], a.period)
    assert agent_outside_hint(frames.calls, "NOBODY", a.period) == ""
    assert coverage(frames.calls["started_at"], a.period).older == older


def json_string(text: str) -> str:
    import json

    return json.dumps(text)


def test_call_pages_are_rendered_only_when_their_inputs_change(tmp_path: Path) -> None:
    synth = synth_frames(SynthStoreOptions(agents=3, days=20, seed=2))
    opts = ReportOptions(workers=1, pdf=False)
    first = write_reports(synth.frames, tmp_path, None, opts)
    n = len(first.call_pages)
    assert n and first.calls_unchanged == 0
    again = write_reports(synth.frames, tmp_path, None, opts)
    assert not again.call_pages and again.calls_unchanged == n
    # A re-scored call is rendered again, alone.
    calls = synth.frames.calls.copy()
    rescored = calls["call_id"].iloc[5]
    calls.loc[calls["call_id"] == rescored, "call_score"] = 1.0
    third = write_reports(prepare_frames(calls, synth.frames.criteria), tmp_path, None, opts)
    assert [p.stem for p in third.call_pages] == [rescored] and third.calls_unchanged == n - 1
    assert ">1.0<" in (tmp_path / "calls" / f"{rescored}.html").read_text(encoding="utf-8")


def test_cli_report_errors_are_error_lines(exported, tmp_path: Path) -> None:
    calls, criteria = exported
    # Empty and unreadable transcript paths: every call still gets a page, no traceback.
    table = pd.read_csv(calls)
    table["transcript_path"] = ""
    table.loc[0, "transcript_path"] = str(tmp_path)  # a folder, not a file
    table.to_csv(tmp_path / "calls.csv", index=False)
    res = CliRunner().invoke(_app(), ["report", "--calls", str(tmp_path / "calls.csv"), "--criteria", str(criteria),
                                      "--from", "2026-10-25", "--to", "2026-10-30", "--out", str(tmp_path / "r"), "--no-pdf", "--workers", "1"])
    assert res.exit_code == 0, res.output
    started = pd.to_datetime(table["started_at"])
    n = int(((started >= "2026-10-25") & (started < "2026-10-31")).sum())
    assert f"{n} call page(s)" in res.output
    # A report folder that cannot be written is an Error: line.
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the report folder should be", encoding="utf-8")
    res = CliRunner().invoke(_app(), ["report", "--calls", str(calls), "--criteria", str(criteria), "--out", str(blocked / "r"), "--no-pdf"])
    assert res.exit_code == 1 and "Error: cannot create report folder" in res.output and "Traceback" not in res.output
    # A period without calls is an Error: line too.
    res = CliRunner().invoke(_app(), ["report", "--calls", str(calls), "--criteria", str(criteria), "--from", "2030-01-01",
                                      "--to", "2030-01-31", "--agent", "A002", "--out", str(tmp_path / "r2"), "--no-pdf"])
    assert res.exit_code == 1 and "Error: no calls in the period 2030-01-01 – 2030-01-31" in res.output
