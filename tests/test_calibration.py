"""Calibration against human QA: importing evaluations into a real store, agreement figures on
constructed verdicts, the `qa calibrate` command and the calibration page of the report site.

The store holds calls scored by the real scorer from hand-made transcripts: calls 0–4 greet
the caller (the machine passes ``greeting``), calls 5–9 do not (it fails them).
"""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text
from typer.testing import CliRunner

from batch_support import SCORECARD, stored_result
from qa_pipeline.calibration import (
    EvaluationFileError,
    calibration_report,
    count_evaluations,
    import_evaluations,
    load_evaluations,
)
from qa_pipeline.cli.main import app
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.store import Store, schema
from qa_pipeline.store.migrations import MIGRATIONS

CARD = load_scorecard(SCORECARD)
FIELDS = ("call_id", "criterion_id", "verdict", "points", "evaluator", "date", "total", "comment")
GREETERS = tuple(f"c{n:05d}" for n in range(5))
SILENT = tuple(f"c{n:05d}" for n in range(5, 10))
CALLS = GREETERS + SILENT


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "qa.db")
    with Store.open(path) as store:
        for n in range(10):
            store.save_call(stored_result(n, CARD, greeting=n < 5))
    return path


def _machine(db: str) -> dict[str, dict[str, str]]:
    """The machine's verdict per criterion of each call, read through the store's API."""
    with Store.open(db, create=False) as store:
        return {cid: {r.id: r.verdict.value for r in store.score(cid).results} for cid in CALLS}


def _write(path: Path, rows: list[dict[str, object]], fields: tuple[str, ...] = FIELDS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in fields})
    return path


def _copy_of_machine(db: str, evaluator: str, day: str = "2024-04-02", calls=CALLS, flips=None) -> list[dict[str, object]]:
    """An evaluator who agrees with the machine except on the ``(call, criterion)`` in ``flips``."""
    flips = flips or {}
    rows = []
    for cid, verdicts in _machine(db).items():
        if cid not in calls:
            continue
        for crit, verdict in verdicts.items():
            rows.append({"call_id": cid, "criterion_id": crit, "verdict": flips.get((cid, crit), verdict), "evaluator": evaluator, "date": day})
    return rows


def _known_kappa_rows(db: str) -> list[dict[str, object]]:
    # greeting: machine pass on 5 calls, fail on 5; the evaluator fails one greeter and passes
    # one silent call: pₒ = 0.8, pₑ = 0.5·0.5 + 0.5·0.5 = 0.5, κ = 0.6.
    return _copy_of_machine(db, "ana", flips={(GREETERS[0], "greeting"): "fail", (SILENT[0], "greeting"): "pass"})


# --------------------------------------------------------------------------- agreement from the store
def test_known_kappa_through_the_store(db: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "human.csv", _known_kappa_rows(db))
    with Store.open(db, create=False) as store:
        summary = import_evaluations(store, path)
        report = calibration_report(store)
    assert (summary.rows, summary.inserted, summary.calls, summary.evaluators) == (90, 90, 10, ("ana",))
    greeting = report.criterion("greeting")
    assert greeting.agreement.n == 10 and greeting.agreement.agreed == 8
    assert greeting.agreement.kappa == pytest.approx(0.6, abs=1e-12)
    assert greeting.agreement.band == "moderate"
    assert greeting.confusion.count("pass", "fail") == 1 and greeting.confusion.count("fail", "pass") == 1
    assert greeting.confusion.count("pass", "pass") == 4 and greeting.confusion.count("fail", "fail") == 4
    # Disagreements carry the machine's reason and evidence (its quote, or what it looked for).
    assert [(d.call_id, d.human.value, d.machine.value) for d in greeting.disagreements] == [
        (GREETERS[0], "fail", "pass"),
        (SILENT[0], "pass", "fail"),
    ]
    heard = greeting.disagreements[0]
    assert heard.evidence and any("Thank you for calling" in e.text for e in heard.evidence)
    missed = greeting.disagreements[1]
    assert missed.evidence and missed.evidence[0].kind == "missing" and missed.reason
    # Everything else agrees: κ 1 where verdicts vary, undefined where both sides always gave
    # the same one (closing always passes, empathy is always na).
    assert report.criterion("self_identification").agreement.kappa == 1.0
    for constant in ("closing", "empathy"):
        assert report.criterion(constant).agreement.kappa is None
        assert report.criterion(constant).agreement.observed == 1.0
    assert report.overall.n == 90 and report.overall.agreed == 88
    assert report.between_evaluators is None and report.pairs == ()
    # Criteria appear in scorecard order.
    assert [c.criterion_id for c in report.criteria] == [c.id for c in CARD.criteria]


def test_totals_computed_from_verdicts_follow_the_scorecard(db: str, tmp_path: Path) -> None:
    rows = _copy_of_machine(db, "ana", flips={(GREETERS[1], "positive_language"): "fail", (GREETERS[2], "closing"): "fail"})
    with Store.open(db, create=False) as store:
        import_evaluations(store, _write(tmp_path / "h.csv", rows))
        report = calibration_report(store)
        machine_totals = {cid: store.score(cid).total for cid in CALLS}
    pairs = {p.call_id: p for p in report.total_pairs}
    assert all(p.computed for p in pairs.values())
    # Where the evaluator agrees on every criterion, the computed total is the machine's.
    for cid in CALLS:
        if cid not in (GREETERS[1], GREETERS[2]):
            assert pairs[cid].human == machine_totals[cid]
    assert pairs[GREETERS[1]].human == 0.0  # positive_language is critical
    assert pairs[GREETERS[2]].human == pytest.approx(round(100 * 65 / 75, 1))  # closing (10 of 75 points) lost
    assert report.total_pairs[0].call_id == GREETERS[1]  # largest difference first
    assert report.totals.n == 10
    assert report.totals.mean_abs_diff == pytest.approx((100 + (100 - 86.7)) / 10)


def test_given_totals_win_and_partial_points_count(db: str, tmp_path: Path) -> None:
    rows = _copy_of_machine(db, "ana", calls=(GREETERS[0],))
    for row in rows:
        if row["criterion_id"] == "closing":
            row["points"] = 5  # a pass with half the points
    rows[0]["total"] = 91  # given once, holds for the evaluation
    other = _copy_of_machine(db, "ben", calls=(GREETERS[0],))
    for row in other:
        if row["criterion_id"] == "closing":
            row["points"], row["verdict"] = 5, ""  # points alone: a pass
    with Store.open(db, create=False) as store:
        import_evaluations(store, _write(tmp_path / "h.csv", rows + other))
        report = calibration_report(store)
        stored = load_evaluations(store)
    by = {p.evaluator: p for p in report.total_pairs}
    assert (by["ana"].human, by["ana"].computed) == (91.0, False)
    assert (by["ben"].human, by["ben"].computed) == (pytest.approx(round(100 * 70 / 75, 1)), True)
    assert all(e.total == 91.0 for e in stored if e.evaluator == "ana")
    assert next(e for e in stored if e.evaluator == "ben" and e.criterion_id == "closing").verdict.value == "pass"


def test_two_evaluators_are_compared_with_each_other(db: str, tmp_path: Path) -> None:
    # On the five silent calls: ana passes one greeting the machine failed, ben two others.
    ana = _copy_of_machine(db, "ana", calls=SILENT, flips={(SILENT[0], "greeting"): "pass"})
    ben = _copy_of_machine(db, "ben", calls=SILENT, flips={(SILENT[1], "greeting"): "pass", (SILENT[2], "greeting"): "pass"})
    with Store.open(db, create=False) as store:
        import_evaluations(store, _write(tmp_path / "h.csv", ana + ben))
        report = calibration_report(store)
    (pair,) = report.pairs
    assert (pair.first, pair.second, pair.calls) == ("ana", "ben", 5)
    greeting = report.criterion("greeting").between_evaluators
    # ana vs ben on greeting: ana P F F F F, ben F P P F F → 2 of 5 agree; pₑ = 0.2·0.4 + 0.8·0.6 = 0.56.
    assert greeting.n == 5 and greeting.agreed == 2
    assert greeting.kappa == pytest.approx((0.4 - 0.56) / (1 - 0.56))
    assert report.between_evaluators.n == 45 and report.between_evaluators.agreed == 42
    assert pair.machine_first.agreed == 44 and pair.machine_second.agreed == 43
    assert [e.evaluator for e in report.by_evaluator] == ["ana", "ben"]
    assert report.by_evaluator[1].agreement.agreed == 43


def test_the_latest_evaluation_of_a_criterion_counts(db: str, tmp_path: Path) -> None:
    first = _copy_of_machine(db, "ana", day="2024-04-01", calls=(SILENT[0],), flips={(SILENT[0], "greeting"): "pass"})
    second = _copy_of_machine(db, "ana", day="2024-04-09", calls=(SILENT[0],))
    with Store.open(db, create=False) as store:
        import_evaluations(store, _write(tmp_path / "a.csv", first))
        import_evaluations(store, _write(tmp_path / "b.csv", second))
        assert count_evaluations(store) == 18
        report = calibration_report(store)
    assert report.evaluations == 9 and report.overall.agreed == 9
    assert (str(report.first_evaluated), str(report.last_evaluated)) == ("2024-04-09", "2024-04-09")


# --------------------------------------------------------------------------- storing
def test_reimporting_a_file_is_idempotent(db: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "human.csv", _known_kappa_rows(db))
    with Store.open(db, create=False) as store:
        import_evaluations(store, path)
        again = import_evaluations(store, path)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 90)
        assert count_evaluations(store) == 90
        before = calibration_report(store).to_dict()
        # A corrected verdict updates its row; a new day adds rows.
        rows = _known_kappa_rows(db)
        rows[0]["verdict"] = "fail" if rows[0]["verdict"] == "pass" else "pass"
        rows[0]["comment"] = "listened again"
        changed = import_evaluations(store, _write(path, rows))
        assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 89)
        later = import_evaluations(store, _write(tmp_path / "later.csv", [dict(r, date="2024-05-01") for r in rows[:9]]))
        assert later.inserted == 9
        assert count_evaluations(store) == 99
        with store.engine.connect() as conn:
            keys = conn.execute(
                select(func.count()).select_from(
                    select(schema.human_evaluations.c.call_pk, schema.human_evaluations.c.criterion_id,
                           schema.human_evaluations.c.evaluator, schema.human_evaluations.c.evaluated_on).distinct().subquery()
                )
            ).scalar()
        assert keys == 99
    with Store.open(db, create=False) as store:
        import_evaluations(store, path)
        assert calibration_report(store).to_dict() != before  # the corrected verdict counts


def test_migration_adds_the_table_to_an_older_store(db: str) -> None:
    assert MIGRATIONS.names[:2] == ["0001_initial", "0002_human_evaluations"]
    # A store from before calibration: no table, 0002 not applied.
    with Store.open(db, create=False) as store:
        with store.engine.begin() as conn:
            conn.execute(text("DROP TABLE human_evaluations"))
            conn.execute(delete(schema.migrations_table).where(schema.migrations_table.c.name == "0002_human_evaluations"))
    with Store.open(db, create=False) as store:
        assert count_evaluations(store) == 0
        with store.engine.connect() as conn:
            applied = set(conn.execute(select(schema.migrations_table.c.name)).scalars())
        assert "0002_human_evaluations" in applied
        assert store.counts()["calls"] == 10


# --------------------------------------------------------------------------- import errors
def _error(db: str, path: Path) -> str:
    with Store.open(db, create=False) as store:
        with pytest.raises(EvaluationFileError) as info:
            import_evaluations(store, path)
        assert count_evaluations(store) == 0  # nothing from a file with problems
    return str(info.value)


def test_import_problems_name_file_line_and_field(db: str, tmp_path: Path) -> None:
    good = {"call_id": GREETERS[0], "evaluator": "ana", "date": "2024-04-02"}
    rows = [
        dict(good, criterion_id="greeting", verdict="pass"),  # line 2: fine
        dict(good, call_id="c99999", criterion_id="greeting", verdict="pass"),  # 3
        dict(good, criterion_id="greting", verdict="pass"),  # 4
        dict(good, criterion_id="closing", verdict="maybe"),  # 5
        dict(good, criterion_id="dead_air", verdict="pass", date="02/04/2024"),  # 6
        dict(good, criterion_id="closing", verdict="pass", points=12),  # 7: closing is worth 10
        dict(good, criterion_id="hold_etiquette", verdict="na", points=3),  # 8
        dict(good, criterion_id="greeting", verdict="fail"),  # 9: repeats line 2
        dict(good, criterion_id="interruptions", verdict=""),  # 10
        dict(good, criterion_id="self_identification", verdict="pass", total=80),  # 11
        dict(good, criterion_id="active_listening", verdict="pass", total=85),  # 12: other total
        dict(good, criterion_id="positive_language", verdict="pass", evaluator=""),  # 13
        dict(good, criterion_id="empathy", verdict="na", total=130),  # 14
        dict(good, call_id=GREETERS[1], criterion_id="greting", verdict="pass"),  # 15: reported with line 4
    ]
    path = _write(tmp_path / "human.csv", rows)
    message = _error(db, path)
    shown = str(path)
    assert message.startswith(f"{shown}: 11 problems, nothing was imported")
    expected = [
        f"{shown}:3: call_id: 'c99999' is not a scored call in ",
        f"{shown}:4: criterion_id: 'greting' is not a criterion of scorecard 'Default (English)'",
        "; 2 rows, also line(s) 15",
        f"{shown}:5: verdict: 'maybe' is not pass, fail or na",
        f"{shown}:6: date: '02/04/2024' is not a date (YYYY-MM-DD)",
        f"{shown}:7: points: 12 is more than the 10 points 'closing' is worth",
        f"{shown}:8: points: 3 points on an na verdict",
        f"{shown}:9: criterion_id: repeats line 2",
        f"{shown}:10: verdict: empty; give pass, fail or na",
        f"{shown}:12: total: 85 differs from the total 80 on line 11",
        f"{shown}:13: evaluator: empty",
        f"{shown}:14: total: 130 is outside 0–100",
    ]
    for line in expected:
        assert line in message, line
    assert "greeting, self_identification" in message  # the criteria that do exist


def test_file_level_problems(db: str, tmp_path: Path) -> None:
    assert _error(db, tmp_path / "missing.csv") == f"{tmp_path / 'missing.csv'}: no such file"
    bad_header = tmp_path / "header.csv"
    bad_header.write_text("call,criterion,verdict\nc00000,greeting,pass\n", encoding="utf-8")
    assert _error(db, bad_header).startswith(f"{bad_header}:1: missing column(s) call_id, criterion_id, evaluator, date")
    no_verdict = _write(tmp_path / "nov.csv", [], fields=("call_id", "criterion_id", "evaluator", "date"))
    assert "missing column(s) verdict or points" in _error(db, no_verdict)
    empty = _write(tmp_path / "empty.csv", [])
    assert _error(db, empty) == f"{empty}: no evaluations below the header"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("call_id,criterion_id,verdict,evaluator,date\nc00000,greeting,pass,Jos\xe9,2024-04-02\n".encode("latin-1"))
    assert _error(db, latin).startswith(f"{latin}:2: not UTF-8 text")
    one = _write(tmp_path / "one.csv", [{"call_id": "c00000", "criterion_id": "greeting", "verdict": "yes", "evaluator": "a", "date": "2024-04-02"}])
    assert _error(db, one) == f"{one}:2: verdict: 'yes' is not pass, fail or na; nothing was imported"


def test_spreadsheet_exports_are_read(db: str, tmp_path: Path) -> None:
    # Semicolons, a byte-order mark, Windows line ends, capitalised headers, N/A, a blank line,
    # a comment over two lines and extra columns.
    path = tmp_path / "export.csv"
    path.write_bytes(
        (
            "\ufeffCall_ID;Criterion_ID;Verdict;Evaluator;Date;Comment;Agent\r\n"
            "c00000;greeting;PASS;ana;2024-04-02T10:30:00;\"warm,\r\nfriendly\";A00\r\n\r\n"
            "c00000;empathy;N/A;ana;2024-04-02;;A00\r\n"
            "c00000;closing;pass;ana;2024-04-02;;A00\r\n"
        ).encode("utf-8")
    )
    with Store.open(db, create=False) as store:
        summary = import_evaluations(store, path)
        stored = {e.criterion_id: e for e in load_evaluations(store)}
    assert summary.inserted == 3
    assert {(k, e.verdict.value, str(e.evaluated_on)) for k, e in stored.items()} == {
        ("greeting", "pass", "2024-04-02"), ("empathy", "na", "2024-04-02"), ("closing", "pass", "2024-04-02")
    }
    assert stored["greeting"].comment == "warm,\r\nfriendly"
    assert {k: e.line for k, e in stored.items()} == {"greeting": 2, "empathy": 5, "closing": 6}
    bad = tmp_path / "bad.csv"
    bad.write_text('call_id,criterion_id,verdict,evaluator,date,comment\nc00000,greeting,pass,ana,2024-04-02,"two\nlines"\nc00000,closing,good,ana,2024-04-02,\n', encoding="utf-8")
    with Store.open(db, create=False) as store, pytest.raises(EvaluationFileError, match=f"^{bad}:4: verdict: 'good'"):
        import_evaluations(store, bad)


# --------------------------------------------------------------------------- qa calibrate
def test_cli_imports_prints_and_writes_the_page(db: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "human.csv", _known_kappa_rows(db))
    runner = CliRunner()
    out = tmp_path / "reports"
    result = runner.invoke(app, ["calibrate", str(path), "--db", db, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "90 new, 0 changed, 0 already stored" in result.output
    assert "greeting" in result.output and "0.60" in result.output and "moderate" in result.output
    assert f"Calibration page: {out / 'calibration.html'}" in result.output.replace("\n", "")
    assert (out / "calibration.html").is_file()

    again = runner.invoke(app, ["calibrate", str(path), "--db", db, "--no-page", "--format", "json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.output)
    assert data["import"]["unchanged"] == 90 and data["page"] is None
    greeting = next(c for c in data["calibration"]["criteria"] if c["criterion_id"] == "greeting")
    assert greeting["agreement"]["kappa"] == 0.6 and greeting["agreement"]["band"] == "moderate"
    assert greeting["confusion"]["counts"] == [[4, 1, 0], [1, 4, 0], [0, 0, 0]]
    assert [d["call_id"] for d in greeting["disagreements"]] == [GREETERS[0], SILENT[0]]

    # Without a file: a report on what is stored.
    stored = runner.invoke(app, ["calibrate", "--db", db, "--no-page", "--format", "json"])
    assert stored.exit_code == 0 and json.loads(stored.output)["import"] is None


def test_cli_errors_exit_1_with_file_and_line(db: str, tmp_path: Path) -> None:
    runner = CliRunner()
    nothing = runner.invoke(app, ["calibrate", "--db", db, "--no-page"])
    assert nothing.exit_code == 1
    assert "no human evaluations yet" in nothing.output
    path = _write(tmp_path / "bad.csv", [{"call_id": "nope", "criterion_id": "greeting", "verdict": "pass", "evaluator": "a", "date": "2024-04-02"}])
    result = runner.invoke(app, ["calibrate", str(path), "--db", db, "--no-page"])
    assert result.exit_code == 1
    assert f"Error: {path}: none of its 1 call(s) is a scored call in " in result.output
    assert "the first, 'nope', is on line 2" in result.output
    missing_store = runner.invoke(app, ["calibrate", str(path), "--db", str(tmp_path / "none.db")])
    assert missing_store.exit_code == 2 and "no results store here" in missing_store.output


# --------------------------------------------------------------------------- the report page
class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links += [v for k, v in attrs if k == "href" and v]


def test_page_shows_the_figures_and_escapes_names(db: str, tmp_path: Path) -> None:
    from qa_pipeline.report.calibration_page import write_calibration_page

    rows = _known_kappa_rows(db)
    for row in rows:
        if row["call_id"] == SILENT[0] and row["criterion_id"] == "greeting":
            row["comment"] = "<script>alert(1)</script> said hi"
    rows += _copy_of_machine(db, "<b>ben</b>", calls=SILENT)
    with Store.open(db, create=False) as store:
        import_evaluations(store, _write(tmp_path / "h.csv", rows))
        report = calibration_report(store)
    page = write_calibration_page(report, tmp_path / "site").read_text(encoding="utf-8")
    greeting = report.criterion("greeting").agreement
    # ana disagrees on 2 of 10 greetings, ben (on the 5 silent calls) on none: 13 of 15.
    assert (greeting.n, greeting.agreed) == (15, 13)
    figures = (f"{greeting.kappa:.2f}", "86.7%", greeting.band, f"{report.overall.kappa:.2f}")
    for figure in figures + ("Landis", "Agent greets the caller", GREETERS[0], SILENT[0], "Evaluator against evaluator"):
        assert figure in page, figure
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; said hi" in page
    assert "<b>ben</b>" not in page and "&lt;b&gt;ben&lt;/b&gt;" in page
    # No report site in that folder: no links to pages that do not exist.
    parser = _Links()
    parser.feed(page)
    assert not [h for h in parser.links if not h.startswith("#")]


def test_site_links_the_page_and_gives_disputed_calls_a_page(db: str, tmp_path: Path) -> None:
    from qa_pipeline.report import ReportOptions, render_site
    from qa_pipeline.stats import StatsOptions, analyse, prepare_frames

    out = tmp_path / "site"
    with Store.open(db, create=False) as store:
        import_evaluations(store, _write(tmp_path / "h.csv", _known_kappa_rows(db)))
        report = calibration_report(store)
        store.export_transcripts(out / "transcripts")
        calls, criteria = store.load_frames()
    analysis = analyse(prepare_frames(calls, criteria), StatsOptions(min_calls=3))
    result = render_site(analysis, out, ReportOptions(pdf=False, workers=1, worst_calls=0, best_calls=0), calibration=report)
    assert result.calibration == out / "calibration.html"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="calibration.html"' in index
    parser = _Links()
    parser.feed(result.calibration.read_text(encoding="utf-8"))
    call_links = [h for h in parser.links if h.startswith("calls/")]
    # Every call the calibration page names is linked to its page (every call of the period has one),
    # the two disputed calls among them.
    from qa_pipeline.report.calibration_page import report_call_ids

    assert set(call_links) == {f"calls/{c}.html" for c in report_call_ids(report)}
    assert {f"calls/{GREETERS[0]}.html", f"calls/{SILENT[0]}.html"} <= set(call_links)
    assert all((out / h).is_file() for h in parser.links if not h.startswith("#"))
    assert {p.name for p in result.call_pages} == {f"{c}.html" for c in analysis.calls["call_id"]}

    # Rendered again without the calibration, the overview still links the page it finds.
    again = render_site(analysis, out, ReportOptions(pdf=False, workers=1))
    assert again.calibration is None
    assert 'href="calibration.html"' in (out / "index.html").read_text(encoding="utf-8")
    plain = tmp_path / "plain"
    render_site(analysis, plain, ReportOptions(pdf=False, workers=1))
    assert "calibration.html" not in (plain / "index.html").read_text(encoding="utf-8")


def test_qa_report_from_the_store_refreshes_the_calibration_page(db: str, tmp_path: Path) -> None:
    with Store.open(db, create=False) as store:
        import_evaluations(store, _write(tmp_path / "h.csv", _known_kappa_rows(db)))
    out = tmp_path / "site"
    result = CliRunner().invoke(app, ["report", "--db", db, "--out", str(out), "--no-pdf", "--min-calls", "3", "--workers", "1"])
    assert result.exit_code == 0, result.output
    page = (out / "calibration.html").read_text(encoding="utf-8")
    assert "greeting" in page and "0.60" in page
    assert 'href="calibration.html"' in (out / "index.html").read_text(encoding="utf-8")
