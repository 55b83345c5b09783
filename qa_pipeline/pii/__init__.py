"""Personal-data redaction: card, bank, phone, e-mail, SSN, Chinese ID numbers, dates of birth
and card security codes are found in transcripts — written or spoken, split across words —
and replaced by ``[CARD]``, ``[PHONE]``… before anything is stored; optionally a copy of the
recording gets a tone over the same words.

Typical use::

    from qa_pipeline.pii import RedactionOptions, redact_transcript, redact_audio

    result = redact_transcript(transcript, RedactionOptions(entities=("card", "phone")))
    result.transcript        # what may be stored and shown
    result.spans             # entity, speaker, channel, start, end — never the text
    redact_audio("call.wav", "redacted/call.wav", result.spans)

Checksums and validity come from python-stdnum (Luhn, IBAN, Chinese ID, SSN) and
phonenumbers; both are imported only when a transcript is redacted.
"""

from qa_pipeline.pii.audio import redact_audio, tone_spans, write_redacted_copy
from qa_pipeline.pii.options import ALL_ENTITIES, TOKENS, Entity, RedactionOptions, parse_entities
from qa_pipeline.pii.redact import (
    RedactedSpan,
    RedactionResult,
    find_pii,
    redact_transcript,
    redaction_record,
    spans_from_transcript,
)

__all__ = [
    "ALL_ENTITIES",
    "TOKENS",
    "Entity",
    "RedactedSpan",
    "RedactionOptions",
    "RedactionResult",
    "find_pii",
    "parse_entities",
    "redact_audio",
    "redact_transcript",
    "redaction_record",
    "spans_from_transcript",
    "tone_spans",
    "write_redacted_copy",
]
