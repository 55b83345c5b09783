"""``qa bench``: transcription configurations timed side by side on the same rendered calls.

``runner`` renders (or reuses) the calls and runs each configuration in a process of its own
(``child``); ``configs`` holds the presets and ``NAME:WxT`` parsing, ``results`` the figures
and the table ``qa bench`` prints. Nothing here is imported by ``qa run``.
"""
