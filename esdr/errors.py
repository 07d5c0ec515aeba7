"""Errors a user can cause: one clear line (what, where, how to fix), exit code 1."""

from __future__ import annotations


class EsdrError(Exception):
    """An expected failure. ``str()`` is the one line shown to the user."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} (fix: {hint})")
