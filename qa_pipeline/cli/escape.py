"""Untrusted text made safe for a terminal.

Call ids, agent ids, file names and failure reasons come from manifests, file names and
recordings: an escape sequence in one (``\\x1b[2J``) would clear or recolour the operator's
terminal, a carriage return could overwrite the line before it. They are shown visibly
instead, as Python writes them in a string literal.
"""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and isolates reorder what follows them on screen.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: object) -> str:
    """``text`` with control, format-override and line-separator characters escaped.

    Printable text, including non-ASCII letters, is kept as it is.

    Args:
        text: Anything; converted with ``str``.
    """
    s = str(text)
    if s.isprintable() and not any(ch in _BIDI for ch in s):
        return s
    return "".join(
        _escape(ch) if (unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI) else ch for ch in s
    )
