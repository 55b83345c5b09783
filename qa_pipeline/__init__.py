"""qa_pipeline: offline call-recording quality assurance.

Recorded calls are decoded (:mod:`qa_pipeline.audio`), transcribed per channel with Whisper
(:mod:`qa_pipeline.asr`), merged into speaker-attributed turns
(:mod:`qa_pipeline.transcript`), and later scored against declarative QA scorecards.
"""

__version__ = "0.1.0"
