"""Column roles: which column of a user's table is the customer id, the order date, the amount.

Roles are detected from the headers first (case-, space- and punctuation-insensitive, English and
Chinese synonyms), then from the content of the columns that are still unassigned (a column whose
values parse as dates, a numeric column with decimals), and any role can be set explicitly, which
always wins. The result says for every role how it was found, so the app can show the mapping as
editable selects and the CLI can print it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from clv_core.errors import DataError
from clv_core.kinds import InputShape
from clv_core.money import MoneyKind, money_kind, settle_money_roles
from clv_core.parsing import parse_amounts, parse_dates
from clv_core.roles import (
    ROLE_OPTIONS,
    ROLE_SYNONYMS,
    ColumnMapping,
    Role,
    mapping_from_values,
    normalise_header,
)

__all__ = [
    "ROLE_OPTIONS",
    "ROLE_SYNONYMS",
    "ColumnMapping",
    "InputShape",
    "Role",
    "detect_input_shape",
    "detect_roles",
    "normalise_header",
]


def detect_roles(
    frame: pd.DataFrame, *, overrides: Mapping[str, str | None] | None = None
) -> ColumnMapping:
    """Detect the role of each column of ``frame``.

    Parameters
    ----------
    frame
        A loaded table (any column types; text columns as strings).
    overrides
        Role name -> column name chosen by the user. A named column must exist; it takes the role
        and is not considered for any other role. ``None`` clears a role.

    Returns
    -------
    ColumnMapping
        Roles found, each with how it was found. Roles that could not be found are ``None``;
        the validation step says which ones are required for which input shape.

    Raises
    ------
    DataError
        An override names a column that is not in the table, or an unknown role.
    """
    overrides = dict(overrides or {})
    columns = [str(column) for column in frame.columns]
    unknown_roles = sorted(set(overrides) - {role.value for role in Role})
    if unknown_roles:
        raise DataError(
            f"Unknown column role(s) {unknown_roles}; valid roles are {[r.value for r in Role]}."
        )
    missing = {
        role: column for role, column in overrides.items() if column and column not in columns
    }
    if missing:
        raise DataError(
            "Column(s) given for a role are not in the table: "
            + ", ".join(f"{role}={column!r}" for role, column in missing.items())
            + f". The table's columns are: {columns}."
        )

    assignment: dict[Role, str] = {}
    sources: dict[str, str] = {}
    for role_name, column in overrides.items():
        if column:
            assignment[Role(role_name)] = column
            sources[role_name] = "user"
    cleared = {Role(role_name) for role_name, column in overrides.items() if not column}

    def free(column: str) -> bool:
        return column not in assignment.values()

    normalised = {column: normalise_header(column) for column in columns}
    for role, synonyms in ROLE_SYNONYMS.items():
        if role in assignment or role in cleared:
            continue
        for synonym in synonyms:
            match = next((c for c in columns if free(c) and normalised[c] == synonym), None)
            if match is not None:
                assignment[role] = match
                sources[role.value] = "header"
                break

    _detect_from_content(frame, columns, assignment, sources, cleared)
    if Role.TARGET not in assignment:
        # Money semantics matter for transaction logs; a per-customer table has no lines.

        fixed = cleared | {Role(role_name) for role_name, column in overrides.items() if column}
        settle_money_roles(frame, assignment, sources, fixed)
    return mapping_from_values({role.value: column for role, column in assignment.items()}, sources)


def _detect_from_content(
    frame: pd.DataFrame,
    columns: list[str],
    assignment: dict[Role, str],
    sources: dict[str, str],
    cleared: set[Role],
) -> None:
    """Fill customer id, order date and amount from the values of still-unassigned columns.

    Only these three roles are inferred from content (they are what every transaction log has;
    a wrong guess for an optional role would be worse than none), and the order id when its
    values are unmistakable shop order numbers (``#1001``).
    """
    # Imported here because validation imports this module for the role names.

    sample = frame.head(500)
    unassigned = [c for c in columns if c not in assignment.values()]
    if Role.ORDER_DATE not in assignment and Role.ORDER_DATE not in cleared:
        for column in unassigned:
            values = sample[column].dropna()
            if len(values) == 0 or _looks_like_plain_numbers(values):
                continue
            parsed = parse_dates(values.reset_index(drop=True)).values
            if parsed.notna().mean() >= 0.9:
                assignment[Role.ORDER_DATE] = column
                sources[Role.ORDER_DATE.value] = "content"
                unassigned.remove(column)
                break
    # A unit price is money already: with a quantity spend is their product, without one the
    # price itself (see clv_core.money); another decimal column (shipping, weight) is not spend.
    has_price = Role.UNIT_PRICE in assignment
    if Role.AMOUNT not in assignment and Role.AMOUNT not in cleared and not has_price:
        for column in unassigned:
            values = sample[column].dropna()
            if len(values) == 0 or money_kind(column) is not MoneyKind.OTHER:
                continue
            amounts = parse_amounts(values.reset_index(drop=True)).values
            has_decimals = bool(((amounts.dropna() % 1) != 0).any())
            if amounts.notna().mean() >= 0.9 and has_decimals:
                assignment[Role.AMOUNT] = column
                sources[Role.AMOUNT.value] = "content"
                unassigned.remove(column)
                break
    if Role.ORDER_ID not in assignment and Role.ORDER_ID not in cleared:
        # Shop platforms number orders "#1001" under a header such as "Name".
        for column in unassigned:
            values = sample[column].dropna().astype("string")
            if len(values) and values.str.fullmatch(r"#[0-9]+").mean() >= 0.9:
                assignment[Role.ORDER_ID] = column
                sources[Role.ORDER_ID.value] = "content"
                unassigned.remove(column)
                break
    if Role.CUSTOMER_ID not in assignment and Role.CUSTOMER_ID not in cleared:
        for column in unassigned:
            values = sample[column].dropna().astype(str)
            if len(values) == 0:
                continue
            if normalise_header(column).endswith("id") or values.nunique() < len(values):
                assignment[Role.CUSTOMER_ID] = column
                sources[Role.CUSTOMER_ID.value] = "content"
                break


def _looks_like_plain_numbers(values: pd.Series) -> bool:
    """True for a column of ordinary numbers (amounts, counts) that must not pass as dates.

    Eight-digit values such as 20240131 are kept as date candidates; so are Excel date serials
    when the column's header is unknown, as long as every value lies in the plausible serial
    range of 1990-2100 (32874-73051) and is a whole number.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return False
    text = values.astype(str).str.strip()
    numeric = pd.to_numeric(text, errors="coerce")
    if numeric.isna().any():
        return False
    eight_digits = text.str.fullmatch(r"\d{8}")
    if bool(eight_digits.all()):
        return False
    whole = (numeric % 1) == 0
    in_serial_range = numeric.between(32874, 73051)
    return not bool((whole & in_serial_range).all())


def detect_input_shape(frame: pd.DataFrame, mapping: ColumnMapping) -> InputShape:
    """Tell a transaction log from a per-customer table with a target column.

    A table with a target column and one row per customer id is a customer table; anything
    with an order date is a transaction log.

    Raises
    ------
    DataError
        Neither shape fits; the message lists the columns each shape needs.
    """
    customer_column = mapping.customer_id
    if mapping.target is not None and customer_column is not None:
        ids = frame[customer_column].dropna()
        if mapping.order_date is None or ids.is_unique:
            return InputShape.CUSTOMER_TABLE
    if mapping.order_date is not None:
        return InputShape.TRANSACTIONS
    raise DataError(
        "Could not tell what kind of table this is. A transaction log needs a customer id, an "
        "order date and an amount column (one row per order); a per-customer table needs a "
        "customer id and a target column such as lifetime_value / 终身价值. "
        f"Found columns: {[str(c) for c in frame.columns]}. Map the columns explicitly."
    )
