"""Page workers: forked processes that render agent and call pages of one site.

Workers inherit the site being rendered through the fork (it is never pickled); each gets
chunks of the pages to write and sends back only their paths.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from qa_pipeline.report.pdf import write_pdf

if TYPE_CHECKING:
    from qa_pipeline.report.options import ReportOptions
    from qa_pipeline.report.sitedata import Site

# The site being rendered, inherited by forked workers (never pickled).
_ACTIVE: Site | None = None


def active() -> Site:
    """The site being rendered (in a worker: the one inherited from the parent)."""
    if _ACTIVE is None:
        raise RuntimeError("page workers run only inside a render")
    return _ACTIVE


def count(requested: int) -> int:
    """Worker processes for ``requested`` (0 = one per available core)."""
    if requested:
        return requested
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def map_pages(fn: Callable[[list[Any]], list[Any]], items: list[Any], site: Site, workers: int) -> list[Any]:
    """``fn`` over chunks of ``items`` in forked worker processes, results in order."""
    global _ACTIVE
    n = count(workers)
    _ACTIVE = site
    try:
        if n <= 1 or len(items) < 2 * n or "fork" not in mp.get_all_start_methods():
            return fn(items)
        size = max(1, len(items) // (n * 4))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("fork")) as pool:
            return [r for part in pool.map(fn, chunks) for r in part]
    finally:
        _ACTIVE = None


def _pdf_in_child(html: str, out: str, base: str) -> str:
    return str(write_pdf(html, Path(out), Path(base)))


def start_pdf(html: str, out: Path, base: Path, opts: ReportOptions) -> Callable[[], Path]:
    """Start writing a PDF; the returned function waits for it (and raises its error)."""
    if count(opts.workers) <= 1 or "fork" not in mp.get_all_start_methods():
        return lambda: write_pdf(html, out, base)
    pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"))
    future = pool.submit(_pdf_in_child, html, str(out), str(base))

    def wait() -> Path:
        try:
            return Path(future.result())
        finally:
            pool.shutdown()

    return wait
