"""Parsing the text of users' tables: dates, money amounts and ids, in every form exports use.

Each parser takes a column of raw cells and returns the parsed values with what it could not
read, so that validation can count and report every row it drops. Nothing here knows about
column roles or tables; :mod:`clv_core.columns` (detecting roles from content),
:mod:`clv_core.money` and :mod:`clv_core.validation` all build on it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "SUPPORTED_DATE_EXAMPLES",
    "ParsedAmounts",
    "ParsedDates",
    "clean_ids",
    "is_missing",
    "parse_amounts",
    "parse_dates",
]

# Excel stores dates as days since 1899-12-30; 32874..73051 is 1990-01-01..2099-12-31, the range
# in which a bare five-digit number in a date column is far more likely a date than anything else.
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_EXCEL_SERIAL_RANGE = (32874.0, 73051.0)


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

# Candidate formats, tried adaptively (the one that parses most of a sample first). pandas'
# strptime accepts one- or two-digit months, days and hours for %m, %d and %H.
_DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y.%m.%d",
)
_MONTH_FIRST_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M")
_DAY_FIRST_FORMATS = ("%d/%m/%Y", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M")
SUPPORTED_DATE_EXAMPLES = (
    "2024-01-31, 2024-01-31 14:05:00, 2024/1/31, 31.01.2024, 20240131, 2024年1月31日, "
    "1/31/2024 or 31/1/2024 (order decided from the data), Excel date numbers such as 45322"
)
# A UTC offset or "Z" after a time of day (optionally with fractional seconds), directly or after
# one space as shop platforms write it ("2023-03-05 14:03:11 +0100").
# A UTC offset, "Z", "UTC" or "GMT" after a time of day, directly or after one space
# ("2023-03-05 14:03:11 +0100", "2024-01-05T10:00Z", "2024-01-05 10:00:00 UTC"). The candidate
# pattern avoids \s, which makes pandas leave Arrow's fast regex engine.
_TIMEZONE_SUFFIX = re.compile(r"(?<=\d) ?(?:Z|UTC|GMT|[+-]\d\d:?\d\d)$")
_TIMEZONE_CANDIDATE = r":[0-9][0-9].* ?(?:Z|UTC|GMT|[+-][0-9][0-9]:?[0-9][0-9])$"
_SLASH_YEAR_LAST = re.compile(r"^(\d{1,2})/(\d{1,2})/\d{4}")


@dataclass(frozen=True, slots=True)
class ParsedDates:
    """Result of :func:`parse_dates`: the values and what was learnt about the column."""

    values: pd.Series
    timezone_removed: np.ndarray
    warnings: tuple[str, ...] = ()


def parse_dates(values: pd.Series, *, dayfirst: bool | None = None) -> ParsedDates:
    """Parse a column of dates written in mixed common formats, vectorised.

    Parameters
    ----------
    values
        Strings (as loaded from text files), datetimes (from XLSX/Parquet) or numbers (Excel
        serials, or 8-digit ``YYYYMMDD`` integers).
    dayfirst
        Order of ``a/b/yyyy`` dates. ``None`` decides from the data: a first part above 12 means
        day first, a second part above 12 means month first; without evidence month first is
        assumed and a warning says so.

    Returns
    -------
    ParsedDates
        ``values`` is datetime64 (time-zone naive, local wall time kept) with NaT where a value
        is missing or could not be parsed; ``timezone_removed`` marks values that carried an
        offset. Supported forms: see ``SUPPORTED_DATE_EXAMPLES``.
    """
    index = values.index
    no_offsets = np.zeros(len(values), dtype=bool)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        naive = values.dt.tz_localize(None).astype("datetime64[ns]")
        return ParsedDates(naive, values.notna().to_numpy())
    if pd.api.types.is_datetime64_any_dtype(values):
        return ParsedDates(values.astype("datetime64[ns]"), no_offsets)
    if pd.api.types.is_numeric_dtype(values):
        return ParsedDates(_parse_numeric_dates(values.astype("float64")), no_offsets)
    if values.dtype == object:
        # Spreadsheets can mix real datetimes, numbers and text in one column.
        is_datetime = values.map(lambda v: isinstance(v, dt.datetime | dt.date)).to_numpy(bool)
        if is_datetime.any():
            result = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
            result[is_datetime] = pd.to_datetime(values[is_datetime].astype(str), errors="coerce")
            rest = parse_dates(values[~is_datetime].astype("string"), dayfirst=dayfirst)
            result[~is_datetime] = rest.values
            offsets = no_offsets.copy()
            offsets[~is_datetime] = rest.timezone_removed
            return ParsedDates(result, offsets, rest.warnings)

    text = values.astype("string").str.strip()
    # The exact offset pattern needs look-behinds, which pandas runs row by row in Python; a
    # plain pattern first finds the (usually zero) candidates at Arrow speed.
    offsets = text.str.contains(_TIMEZONE_CANDIDATE, na=False).to_numpy(bool)
    if offsets.any():
        candidates = text[offsets]
        offsets[offsets] = candidates.str.contains(_TIMEZONE_SUFFIX, na=False).to_numpy(bool)
        text = text.where(~offsets, text.str.replace(_TIMEZONE_SUFFIX, "", regex=True))
    result = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    remaining = text.notna().to_numpy(bool)
    warnings: list[str] = []

    formats = list(_DATE_FORMATS)
    slash_formats, slash_warning = _slash_formats(text[remaining], dayfirst)
    formats.extend(slash_formats)
    if slash_warning:
        warnings.append(slash_warning)

    # Adaptive pass: the format that parses most of a sample of what is left goes first, over
    # all remaining values at once; typically one format covers the whole column in one pass.
    while remaining.any() and formats:
        sample = text[remaining].iloc[:2000]
        hits = {
            fmt: int(pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum())
            for fmt in formats
        }
        best = max(hits, key=lambda fmt: hits[fmt])
        if hits[best] == 0:
            break
        parsed = pd.to_datetime(text[remaining], format=best, errors="coerce")
        result[remaining] = parsed
        remaining = remaining & result.isna().to_numpy(bool)
        formats.remove(best)
    if remaining.any():
        numbers = pd.to_numeric(text[remaining], errors="coerce")
        result[remaining] = _parse_numeric_dates(numbers)
    return ParsedDates(result, offsets & result.notna().to_numpy(bool), tuple(warnings))


def _slash_formats(text: pd.Series, dayfirst: bool | None) -> tuple[tuple[str, ...], str | None]:
    """Pick month/day order for ``a/b/yyyy`` dates from the evidence in the column."""
    if dayfirst is True:
        return _DAY_FIRST_FORMATS, None
    if dayfirst is False:
        return _MONTH_FIRST_FORMATS, None
    with_slash = text[text.str.contains("/", regex=False, na=False)]
    parts = with_slash.str.extract(_SLASH_YEAR_LAST).dropna()
    if parts.empty:
        return _MONTH_FIRST_FORMATS, None
    first_above_12 = bool((parts[0].astype(int) > 12).any())
    second_above_12 = bool((parts[1].astype(int) > 12).any())
    if first_above_12 and not second_above_12:
        return _DAY_FIRST_FORMATS, None
    if second_above_12:
        # With evidence both ways the column mixes conventions; the minority fails to parse
        # and is counted as unparsable rather than being silently read the wrong way round.
        return _MONTH_FIRST_FORMATS, None
    return _MONTH_FIRST_FORMATS, (
        "Dates like 1/2/2024 are ambiguous and were read as month/day/year; "
        "set day-first if they are day/month/year."
    )


def _parse_numeric_dates(numbers: pd.Series) -> pd.Series:
    """Numbers as dates: 8-digit ``YYYYMMDD`` integers, or Excel serials in 1990-2099."""
    result = pd.Series(pd.NaT, index=numbers.index, dtype="datetime64[ns]")
    whole = numbers.notna() & ((numbers % 1) == 0)
    eight_digits = whole & numbers.between(19000101, 21001231)
    if eight_digits.any():
        as_text = numbers[eight_digits].astype("int64").astype(str)
        result[eight_digits] = pd.to_datetime(as_text, format="%Y%m%d", errors="coerce")
    serial = numbers.between(*_EXCEL_SERIAL_RANGE) & ~eight_digits
    if serial.any():
        result[serial] = _EXCEL_EPOCH + pd.to_timedelta(numbers[serial], unit="D")
    return result


# --------------------------------------------------------------------------------------------
# Amounts
# --------------------------------------------------------------------------------------------

_CURRENCY = re.compile(r"(?i)(rmb|cny|usd|eur|gbp|jpy|hkd|元|[¥￥$€£\s\u00a0\u202f'])")


@dataclass(frozen=True, slots=True)
class ParsedAmounts:
    """Result of :func:`parse_amounts`."""

    values: pd.Series
    cleaned: np.ndarray


def parse_amounts(values: pd.Series, *, decimal_comma: bool | None = None) -> ParsedAmounts:
    """Parse money values, vectorised.

    Plain numbers are taken as they are. Text such as ``"¥1,234.50"``, ``"1 234,50 €"``,
    ``"(12.00)"`` (accounting negative) or ``"12.00-"`` is cleaned and marked in ``cleaned``.
    ``decimal_comma`` decides whether ``","`` is the decimal mark; ``None`` decides from the
    values that need cleaning (``1.234,56`` / ``12,5`` patterns).

    Returns
    -------
    ParsedAmounts
        float64 values with NaN where a value is missing, not a number or not finite.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64")
        numbers = numbers.where(np.isfinite(numbers))
        return ParsedAmounts(numbers, np.zeros(len(values), dtype=bool))
    text = values.astype("string").str.strip()
    numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    needs_cleaning = (numbers.isna() & text.notna()).to_numpy(bool)
    cleaned_mask = np.zeros(len(values), dtype=bool)
    if needs_cleaning.any():
        raw = text[needs_cleaning].str.replace(_CURRENCY, "", regex=True)
        negative = raw.str.fullmatch(r"\(.*\)|.*-", na=False)
        raw = raw.str.strip("()").str.rstrip("-")
        raw = raw.where(~negative, "-" + raw)
        raw, comma_column = _normalise_separators(raw, decimal_comma)
        repaired = pd.to_numeric(raw, errors="coerce").astype("float64")
        numbers[needs_cleaning] = repaired
        cleaned_mask[needs_cleaning] = repaired.notna().to_numpy(bool)
        if comma_column:
            # In a column with decimal commas, "1.000" is a thousand, not one.
            dotted = text.str.fullmatch(r"-?[0-9]{1,3}(?:\.[0-9]{3})+", na=False).to_numpy(bool)
            dotted &= ~needs_cleaning
            if dotted.any():
                numbers[dotted] = pd.to_numeric(
                    text[dotted].str.replace(".", "", regex=False), errors="coerce"
                ).astype("float64")
                cleaned_mask |= dotted
    numbers = numbers.where(np.isfinite(numbers))
    return ParsedAmounts(numbers, cleaned_mask & numbers.notna().to_numpy(bool))


def _normalise_separators(raw: pd.Series, decimal_comma: bool | None) -> tuple[pd.Series, bool]:
    """Rewrite ``1.234,56`` / ``1,234.56`` / ``12,5`` with ``.`` as the only decimal mark.

    With both marks in a value the rightmost one is the decimal mark. A lone comma is a decimal
    mark when ``decimal_comma`` says so, or (undecided) when it is not followed by exactly three
    digits; ``1,234`` alone stays a thousands separator unless the column's unambiguous values
    use decimal commas. Also returns whether the column writes decimals with a comma.
    """
    last_comma = raw.str.rfind(",")
    last_dot = raw.str.rfind(".")
    comma_is_decimal = (last_comma > last_dot) & (last_dot >= 0)
    lone_comma = (last_comma >= 0) & (last_dot < 0)
    if decimal_comma is None:
        three_digits_after = raw.str.contains(r",\d{3}$", regex=True, na=False)
        single_comma = raw.str.count(",") == 1
        unambiguous_decimal = lone_comma & single_comma & ~three_digits_after
        ambiguous = lone_comma & single_comma & three_digits_after
        column_uses_decimal_comma = bool(
            (unambiguous_decimal | comma_is_decimal).sum()
            > ((last_dot > last_comma) & (last_comma >= 0)).sum()
        )
        comma_is_decimal = comma_is_decimal | unambiguous_decimal
        if column_uses_decimal_comma:
            comma_is_decimal = comma_is_decimal | ambiguous
    elif decimal_comma:
        comma_is_decimal = comma_is_decimal | lone_comma
    decimal_text = raw.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    thousands_text = raw.str.replace(",", "", regex=False)
    uses_decimal_comma = bool(decimal_comma) or bool(comma_is_decimal.fillna(False).any())
    return decimal_text.where(comma_is_decimal.fillna(False), thousands_text), uses_decimal_comma


def is_missing(values: pd.Series) -> np.ndarray:
    """Missing values, counting empty and whitespace-only text as missing."""
    missing = values.isna().to_numpy(bool)
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        blank = values.astype("string").str.strip().eq("").fillna(False).to_numpy(bool)
        missing = missing | blank
    return missing


def clean_ids(values: pd.Series) -> pd.Series:
    """Customer/order ids as stripped strings; ``1001.0`` from a spreadsheet becomes ``1001``.

    Text ids become whole numbers only when *every* id of the column is written as one with a
    ``.0`` (a float column saved as text, as ERP exports do); ``1.0`` next to ``1.5`` stays.
    """
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & ((values % 1) == 0)
        text = values.astype("string")
        text[whole] = values[whole].astype("int64").astype("string")
        return text.astype("str")
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.dropna()
    # The first ids decide cheaply whether the whole column needs looking at.
    if len(present) and all(_float_text_ids(part) for part in (present.iloc[:100], present)):
        text = text.str.replace(r"\.0+$", "", regex=True)
    return text.astype("str")


def _float_text_ids(ids: pd.Series) -> bool:
    """Whether every id is a whole number written with a ``.0`` (``13085.0``)."""
    return bool(ids.str.fullmatch(r"[0-9]+\.0+").all())
