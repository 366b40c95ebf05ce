"""The one error hierarchy of the CLV engine.

Every failure a user can cause (a malformed file, a missing column, an impossible option) is
raised as a :class:`ClvError`. Its message is written for an analyst: what is wrong, where
(column, row, an example value) and what to do about it. It is safe to show as it is, so the
app shows it with ``st.error`` and the CLI prints it as ``error: <message>`` and exits with 2.
Anything that is *not* a ``ClvError`` is a bug and must surface with its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["ClvError", "ConfigError", "DataError", "NotFittedError"]


class ClvError(Exception):
    """Base class of every user-facing error.

    Parameters
    ----------
    message
        A sentence (or a few) for an analyst. When ``problems`` is given, the message is the
        headline and the problems are listed under it.
    problems
        Several independent problems found at once (validation reports them together rather
        than stopping at the first).
    """

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        self.headline = message
        self.problems: tuple[str, ...] = tuple(problems)
        text = message
        if self.problems:
            text = message + "\n" + "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(text)

    @property
    def message(self) -> str:
        """The full text to show: the headline followed by one line per problem."""
        return str(self)


class DataError(ClvError):
    """The input data cannot be used as it is (unreadable file, missing column, too little data)."""


class ConfigError(ClvError):
    """An option or configuration value is invalid; the message lists what is allowed."""


class NotFittedError(ClvError):
    """A model or transformer was used before ``fit`` was called."""
