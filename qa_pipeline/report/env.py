"""The one Jinja environment of the reports: package templates, autoescape on, our filters."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Callable

import jinja2

from qa_pipeline import __version__
from qa_pipeline.report import filters
from qa_pipeline.stats.flags import FLAG_ADVICE, FLAG_LABELS, Flag

TEMPLATE_PACKAGE = "qa_pipeline.report"
TEMPLATE_FOLDER = "templates"


def _load(name: str) -> tuple[str, str, Callable[[], bool]] | None:
    # Templates are package resources, so reports work from a wheel or a zip as well as a checkout.
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    resource = resources.files(TEMPLATE_PACKAGE).joinpath(TEMPLATE_FOLDER, name)
    if not resource.is_file():
        return None
    return resource.read_text(encoding="utf-8"), f"{TEMPLATE_PACKAGE}/{TEMPLATE_FOLDER}/{name}", lambda: True


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment (created once).

    Autoescape is on for every template (``.html.j2`` and anything else): agent names, call
    ids and transcript text are untrusted. Undefined variables raise instead of rendering empty.
    """
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters.FILTERS)
    env.globals.update(
        version=__version__,
        flag_labels={f.value: FLAG_LABELS[f] for f in Flag},
        flag_advice={f.value: FLAG_ADVICE[f] for f in Flag},
        finite=filters.finite,
    )
    return env
