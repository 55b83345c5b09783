"""Writing report files: whole pages atomically, call pages (100,000 and more) cheaply."""

from __future__ import annotations

import os
from pathlib import Path

from qa_pipeline.errors import ReportError

# Call pages are written in place, truncating an older page of the same call.
_CALL_PAGE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def write_file(path: Path, text: str) -> Path:
    """Write a report file through a temporary file, so a reader never sees half of it.

    Raises:
        ReportError: The file cannot be written (the temporary file is removed).
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        # A full disk must not leave half a page behind.
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def write_call_page(path: Path, text: str) -> Path:
    """One call page, written in place: a site has one per call, 100,000 and more.

    A page cut short by a crash is safe: the manifest is saved only after every page is
    written, so the next render finds the page stale and writes it again. The page goes out
    as UTF-8 bytes through one ``os.write`` loop: a text-mode file object per page costs
    more than the page's template.

    Raises:
        ReportError: The page cannot be written.
    """
    data = text.encode("utf-8")
    try:
        fd = os.open(path, _CALL_PAGE_FLAGS, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
