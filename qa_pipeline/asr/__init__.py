"""Speech-recognition engines behind one small interface.

An engine turns one channel of 16 kHz mono float32 samples into timed words. Engines are
created by :func:`create_engine`; heavy libraries are imported only when an engine is built.
"""

from __future__ import annotations

from qa_pipeline.asr.base import ChannelResult, Engine, create_engine

__all__ = ["ChannelResult", "Engine", "create_engine"]
