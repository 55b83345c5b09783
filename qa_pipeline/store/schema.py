"""The results store's tables (SQLAlchemy Core), as of the latest migration.

One row per recording in ``calls``; its transcript, characteristics and scores hang off it by
``call_pk``. Scores are kept per scorecard (``scorecard_hash``), so re-scoring after a
scorecard change adds rows and keeps the history. Unique constraints make a duplicate result
impossible whatever the code above does:

- ``calls``: one row per ``call_id`` and per recording content (``content_sha256``);
- ``transcripts``: one per call;
- ``characteristics``, ``call_scores``: one per (call, scorecard);
- ``criterion_results``: one per (call, scorecard, criterion);
- ``call_events``: a call's timed events (holds, silences, interruptions, overlaps) per
  (call, scorecard), numbered in time order;
- ``run_rejections``: recordings a run failed but could not store as calls (their call id is
  another stored recording's), per run;
- ``human_evaluations``: one per (call, criterion, evaluator, day) — re-importing a file
  updates its rows instead of adding more.

Times are naive UTC. JSON documents are stored as text so SQLite and PostgreSQL hold the same
bytes.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

migrations_table = Table(
    "schema_migrations",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("applied_at", DateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    # running | ok (every call succeeded) | failed (some calls failed) | error (the run
    # stopped on an error) | interrupted (killed; found by the next run)
    Column("status", String(20), nullable=False),
    Column("recordings", Text),
    Column("version", String(40), nullable=False),
    Column("host", String(200)),
    Column("pid", Integer),
    Column("options", Text, nullable=False),  # JSON
    Column("discovered", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("transcribed", Integer, nullable=False, default=0),
    Column("from_cache", Integer, nullable=False, default=0),
    Column("rescored", Integer, nullable=False, default=0),
    Column("succeeded", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("audio_seconds", Float, nullable=False, default=0.0),
    Column("wall_seconds", Float),
    Column("log_path", Text),
    Column("error", Text),
)

calls = Table(
    "calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(300), nullable=False),
    Column("path", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("file_size", BigInteger),
    Column("file_mtime_ns", BigInteger),
    Column("agent_id", String(200)),
    Column("agent_name", String(300)),
    Column("team", String(200)),
    Column("started_at", DateTime),
    Column("metadata", Text),  # JSON: the source of each field
    Column("duration_s", Float),
    Column("channels", Integer),
    Column("sample_rate", Integer),
    Column("codec", String(60)),
    Column("roles_source", String(20)),
    Column("roles_method", String(40)),
    Column("roles_confidence", Float),
    Column("roles_review", Boolean),  # the role decision was uncertain: flagged for a person
    Column("status", String(10), nullable=False),  # ok | failed
    Column("error", Text),
    Column("error_kind", String(20)),  # metadata | audio | model | scoring | crash | internal
    Column("hash_s", Float),
    Column("decode_s", Float),
    Column("asr_s", Float),
    Column("merge_s", Float),
    Column("score_s", Float),
    Column("cached", Boolean),
    Column("transcript_path", Text),
    # The copy of the recording with personal data toned out (--redact-audio): call pages
    # play it instead of the recording.
    Column("playback_path", Text),
    # The worst party's speech coverage (0..1): detected speech with recognised words.
    Column("speech_coverage", Float),
    Column("coverage_review", Boolean),  # coverage under the threshold: flagged for a person
    Column("run_id", Integer, ForeignKey("runs.id")),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("call_id", name="uq_calls_call_id"),
    UniqueConstraint("content_sha256", name="uq_calls_content"),
)
Index("ix_calls_status", calls.c.status)
Index("ix_calls_started_at", calls.c.started_at)

transcripts = Table(
    "transcripts",
    metadata,
    Column("call_pk", Integer, ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True),
    Column("engine", String(40), nullable=False),
    Column("model", Text, nullable=False),
    Column("language", String(16), nullable=False),
    Column("options", Text, nullable=False),  # JSON
    Column("content_sha256", String(64), nullable=False),
    Column("transcript", Text, nullable=False),  # the Transcript JSON document
    Column("created_at", DateTime, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
)

characteristics = Table(
    "characteristics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_pk", Integer, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    # Measured with the scorecard's thresholds, so kept per scorecard.
    Column("scorecard_hash", String(64), nullable=False),
    Column("duration_s", Float),
    Column("agent_talk_s", Float),
    Column("customer_talk_s", Float),
    Column("agent_talk_share", Float),
    Column("non_talk_s", Float),
    Column("holds", Integer),
    Column("hold_s", Float),
    Column("interruptions", Integer),
    Column("agent_speed_per_min", Float),
    Column("customer_speed_per_min", Float),
    Column("data", Text, nullable=False),  # JSON: the full Characteristics record
    UniqueConstraint("call_pk", "scorecard_hash", name="uq_characteristics_call_card"),
)

call_scores = Table(
    "call_scores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_pk", Integer, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("scorecard_name", String(300), nullable=False),
    Column("scorecard_hash", String(64), nullable=False),
    Column("language", String(16)),
    Column("total", Float),  # None: no criterion applied
    Column("points", Float, nullable=False),
    Column("max_points", Float, nullable=False),
    Column("auto_failed", Boolean, nullable=False),
    Column("auto_failed_by", Text, nullable=False),  # JSON list
    Column("roles_inferred", Boolean, nullable=False),
    Column("roles_review", Boolean),
    Column("scoring_version", String(20), nullable=False),
    Column("scored_at", DateTime, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
    # False for scores stored before the store kept timed events (see call_events).
    Column("events_recorded", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("call_pk", "scorecard_hash", name="uq_call_scores_call_card"),
)
Index("ix_call_scores_card", call_scores.c.scorecard_hash)

criterion_results = Table(
    "criterion_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_pk", Integer, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("scorecard_hash", String(64), nullable=False),
    Column("criterion_id", String(200), nullable=False),
    Column("position", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("type", String(60), nullable=False),
    Column("verdict", String(4), nullable=False),  # pass | fail | na
    Column("points", Float, nullable=False),
    Column("max_points", Float, nullable=False),
    Column("credit", Float, nullable=False),
    Column("critical", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON list of Evidence records
    Column("missing", Text),
    Column("roles_inferred", Boolean, nullable=False),
    Column("roles_review", Boolean),  # depends on roles flagged for review
    UniqueConstraint("call_pk", "scorecard_hash", "criterion_id", name="uq_criterion_results_call_card_criterion"),
)

# Holds, silences, interruptions and overlaps with their times and who (qa_pipeline.callrecord
# .CallEvent), measured with the scorecard's thresholds and so kept per scorecard, like
# characteristics. Call pages draw them on the timeline.
call_events = Table(
    "call_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_pk", Integer, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("scorecard_hash", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(20), nullable=False),  # hold | silence | interruption | overlap
    Column("start_s", Float, nullable=False),
    Column("end_s", Float, nullable=False),
    Column("who", String(10), nullable=False),  # agent | customer | both
    Column("source", String(200), nullable=False),  # criterion id, or "characteristics"
    Column("text", Text, nullable=False),
    Column("announced_s", Float),  # holds judged by a criterion: when announced
    Column("thanked_s", Float),  # and when the caller was thanked
    UniqueConstraint("call_pk", "scorecard_hash", "position", name="uq_call_events_call_card_position"),
)

# Recordings a run failed but could not store as calls: their call id belongs to another,
# already stored recording (a calls row per id), so the failure is kept here, per run, for
# `qa status` to list beside the stored failures.
run_rejections = Table(
    "run_rejections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("call_id", String(300), nullable=False),
    Column("path", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("error_kind", String(20), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# Tables holding one scorecard's results for a call, deleted together when a call is
# re-scored with that scorecard.
SCORE_TABLES: tuple[Table, ...] = (criterion_results, call_events, call_scores, characteristics)

# Verdicts given by people, imported with `qa calibrate` to measure how far the machine's
# verdicts can be trusted (qa_pipeline.calibration).
human_evaluations = Table(
    "human_evaluations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_pk", Integer, ForeignKey("calls.id", ondelete="CASCADE"), nullable=False),
    Column("criterion_id", String(200), nullable=False),
    Column("evaluator", String(200), nullable=False),
    Column("evaluated_on", Date, nullable=False),
    Column("verdict", String(4), nullable=False),  # pass | fail | na
    Column("points", Float),  # as the evaluator gave them, if any
    Column("total", Float),  # the evaluator's total for the call (0-100), if given
    Column("comment", Text),
    Column("source", Text, nullable=False),  # the imported file
    Column("line", Integer, nullable=False),  # its line in that file
    Column("imported_at", DateTime, nullable=False),
    UniqueConstraint("call_pk", "criterion_id", "evaluator", "evaluated_on", name="uq_human_evaluations_call_criterion_evaluator_day"),
)
