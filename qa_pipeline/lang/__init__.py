"""Language knowledge as data, and the one text normaliser.

Word lists live in ``qa_pipeline/data/lang/<code>.yaml`` (see :mod:`qa_pipeline.lang.data`);
:func:`normalise_text` (:mod:`qa_pipeline.lang.normalise`) is how every module normalises text.
"""

from qa_pipeline.lang.data import (
    ALL,
    REQUIRED_KEYS,
    LanguageData,
    LanguageDataError,
    PiiWords,
    RoleCuePhrases,
    WerWords,
    data_dir,
    load_language,
    load_languages,
    merge_languages,
    shipped_languages,
)
from qa_pipeline.lang.normalise import is_cjk, normalise_text, number_words, ordinal_words

__all__ = [
    "ALL",
    "REQUIRED_KEYS",
    "LanguageData",
    "LanguageDataError",
    "PiiWords",
    "RoleCuePhrases",
    "WerWords",
    "data_dir",
    "is_cjk",
    "load_language",
    "load_languages",
    "merge_languages",
    "normalise_text",
    "number_words",
    "ordinal_words",
    "shipped_languages",
]
