"""The languages the engine writes labels in (tiers, churn bands, actions, feature names)."""

from __future__ import annotations

from enum import StrEnum

from clv_core.errors import ConfigError

__all__ = ["Language", "parse_language"]


class Language(StrEnum):
    """Language of user-facing labels: English or Simplified Chinese."""

    EN = "en"
    ZH = "zh"


def parse_language(language: Language | str) -> Language:
    """``"en"``/``"zh"`` as a :class:`Language`; anything else is a ConfigError listing both."""
    try:
        return Language(language)
    except ValueError:
        raise ConfigError(
            f"language: {language!r} is not one of {[member.value for member in Language]}."
        ) from None
