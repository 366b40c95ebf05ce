"""Money semantics: which columns make a customer's spend, why, and whether the result is plausible.

Real exports rarely have one clean ``amount`` column. An ERP invoice-line export has ``Quantity``
and ``Price`` per unit; a grocery log has an ``AMOUNT`` column that counts items next to a
``SALES_VALUE`` column that holds the money; a marketplace export has a unit price, a quantity
and the amount actually paid after discounts. Reading the wrong one as spend silently puts every
prediction off by a large factor, so the decision is made from the headers *and* the content:

* headers give each numeric column a kind (line total, unit price, quantity, cost, discount);
* a column named like an amount that holds only small whole numbers, while another column holds
  money-like decimals, is a count of items (a quantity), not spend;
* with a quantity column, whether a money column is a unit price or a line total is decided from
  the data: a unit price stays the same for a product whatever the quantity, a line total grows
  with it (within products when a product column is present, else across all lines);
* a column of what was paid (``实付金额``, ``amount paid``, ``net amount``) beats a list value;
  two equally plausible spend columns that disagree are not guessed between.

:func:`settle_money_roles` applies these rules while roles are detected;
:func:`explain_spend` states in one sentence how spend is computed for a mapping and why the
other money-like columns are not spend; :func:`check_money` computes the plausibility figures
and warnings (each with a suggested mapping) after validation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clv_core.parsing import parse_amounts
from clv_core.roles import ROLE_OPTIONS, ROLE_SYNONYMS, Role, normalise_header

if TYPE_CHECKING:
    from clv_core.roles import ColumnMapping

__all__ = [
    "MoneyCheck",
    "MoneyKind",
    "MoneyTotals",
    "MoneyWarning",
    "RejectedColumn",
    "SpendExplanation",
    "SpendFormula",
    "amount_candidates",
    "assess_money",
    "check_money",
    "explain_spend",
    "money_kind",
    "settle_money_roles",
]

# How many rows the content tests read: enough for stable medians and per-product spreads,
# cheap on a ten-million-row log.
_SAMPLE_ROWS = 50_000
# A column is money-like when at least this share of its values are numbers and it has
# decimals; a count of items has whole numbers only and a small typical value.
_NUMERIC_SHARE = 0.9
_SMALL_COUNT_MEDIAN = 12.0
_SMALL_COUNT_P99 = 200.0
# Per-unit test: the elasticity of value with quantity; about 0 for a unit price, about 1 for a
# line total. Between the two bounds the data does not decide.
_UNIT_PRICE_BELOW = 0.35
_LINE_TOTAL_ABOVE = 0.65
# Within products, one reading must spread at most half as much as the other to decide.
_SPREAD_RATIO = 0.5
# Two total columns agree when this share of rows differ by at most 0.5%.
_AGREEMENT_SHARE = 0.95


class MoneyKind(StrEnum):
    """What a numeric column's header says it holds."""

    PAID_TOTAL = "paid_total"
    TOTAL = "total"
    UNIT_PRICE = "unit_price"
    QUANTITY = "quantity"
    COST = "cost"
    DISCOUNT = "discount"
    OTHER = "other"


# Totals that name what the customer actually paid win over list or gross values.
_PAID_TOTAL_HEADERS = frozenset(
    {
        "实付金额",
        "实付款",
        "实付",
        "实收金额",
        "实收",
        "amountpaid",
        "paidamount",
        "totalpaid",
        "netamount",
        "netsales",
        "netrevenue",
        "netvalue",
    }
)
_RATE_HEADER = re.compile(r"(?i)(rate|pct|percent|%|率)")
_MONEY_HEADER = re.compile(r"(?i)(amount|value|money|金额|额)")


def money_kind(column: object) -> MoneyKind:
    """The kind of money (or count) a column's header names; ``OTHER`` when it names none."""

    name = normalise_header(column)
    if name in _PAID_TOTAL_HEADERS:
        return MoneyKind.PAID_TOTAL
    for role, kind in (
        (Role.AMOUNT, MoneyKind.TOTAL),
        (Role.UNIT_PRICE, MoneyKind.UNIT_PRICE),
        (Role.QUANTITY, MoneyKind.QUANTITY),
        (Role.COST, MoneyKind.COST),
        (Role.DISCOUNT, MoneyKind.DISCOUNT),
    ):
        if name in ROLE_SYNONYMS[role]:
            return kind
    return MoneyKind.OTHER


# --------------------------------------------------------------------------------------------
# Column profiles and the per-unit test
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Profile:
    """What the values of one column look like (on a sample of rows)."""

    numeric_share: float
    whole_share: float
    median_abs: float
    p99_abs: float

    @property
    def numeric(self) -> bool:
        return self.numeric_share >= _NUMERIC_SHARE

    @property
    def money_like(self) -> bool:
        """Numbers with decimals (prices, totals)."""
        return self.numeric and self.whole_share < 0.9

    @property
    def small_counts(self) -> bool:
        """Only whole numbers, typically small: a count of items."""
        return (
            self.numeric
            and self.whole_share >= 0.999
            and self.median_abs <= _SMALL_COUNT_MEDIAN
            and self.p99_abs <= _SMALL_COUNT_P99
        )


def _numbers(values: pd.Series) -> pd.Series:

    return parse_amounts(values).values


_NOT_NUMERIC = _Profile(0.0, 0.0, 0.0, 0.0)


def _profile(values: pd.Series) -> _Profile:
    present = values.dropna()
    if pd.api.types.is_datetime64_any_dtype(values) or len(present) == 0:
        return _NOT_NUMERIC
    # Text columns (names, descriptions) are told apart on their first values, so that the
    # full sample is parsed only for columns that may be numbers.
    head = _numbers(present.iloc[:200].reset_index(drop=True))
    if head.notna().mean() < 0.5:
        return _NOT_NUMERIC
    numbers = _numbers(present.reset_index(drop=True)).dropna()
    if len(numbers) == 0:
        return _NOT_NUMERIC
    magnitude = numbers.abs()
    return _Profile(
        numeric_share=len(numbers) / len(present),
        whole_share=float(((numbers % 1) == 0).mean()),
        median_abs=float(magnitude.median()),
        p99_abs=float(magnitude.quantile(0.99)),
    )


_PRODUCT_HEADERS = (
    "stockcode",
    "sku",
    "lineitemsku",
    "productid",
    "productcode",
    "productno",
    "itemid",
    "itemcode",
    "itemno",
    "articleid",
    "articleno",
    "articlenumber",
    "ean",
    "barcode",
    "商品编号",
    "商品编码",
    "商品id",
    "货号",
    "产品编号",
    "sku编码",
    "product",
    "productname",
    "lineitemname",
    "description",
    "itemname",
    "商品名称",
    "商品",
    "产品名称",
)


def _product_column(frame: pd.DataFrame) -> str | None:
    """A column naming the product of each line, used to tell unit prices from line totals."""

    by_name = {normalise_header(column): str(column) for column in frame.columns}
    return next((by_name[name] for name in _PRODUCT_HEADERS if name in by_name), None)


class _PerUnit(StrEnum):
    UNIT_PRICE = "unit_price"
    TOTAL = "total"


@dataclass(frozen=True, slots=True)
class _PerUnitVerdict:
    reading: _PerUnit | None
    evidence: str


def _per_unit_test(
    value: pd.Series, quantity: pd.Series, product: pd.Series | None, names: tuple[str, str]
) -> _PerUnitVerdict:
    """Decide whether ``value`` is a price per unit or a line total, given ``quantity``.

    A unit price stays the same for a product whatever the quantity; a line total divided by
    the quantity does. Within products the spread of log(value) and of log(value / quantity)
    are compared; without a product column (or too few repeated products) the elasticity of
    value with quantity across all lines decides (about 0 for prices, about 1 for totals).
    """
    value_name, quantity_name = names
    v = _numbers(value.reset_index(drop=True)).to_numpy(float)
    q = _numbers(quantity.reset_index(drop=True)).to_numpy(float)
    usable = np.isfinite(v) & np.isfinite(q) & (v > 0) & (q > 0)
    if usable.sum() < 20:
        return _PerUnitVerdict(None, "too few lines with a positive value and quantity")
    log_value = np.log(v[usable])
    log_quantity = np.log(q[usable])
    if product is not None:
        groups = pd.DataFrame(
            {
                "product": product.reset_index(drop=True)[usable].astype("string").to_numpy(),
                "unit": log_value,
                "total": log_value - log_quantity,
                "quantity": log_quantity,
            }
        )
        varies = groups.groupby("product", sort=False)["quantity"].transform("nunique") > 1
        informative = groups[varies]
        if len(informative) >= 20:
            spreads = informative.groupby("product", sort=False)[["unit", "total"]].var().mean()
            as_price, as_total = float(spreads["unit"]), float(spreads["total"])
            detail = (
                f"within a product the spread of '{value_name}' is {as_price:.3f} and of "
                f"'{value_name}' / '{quantity_name}' {as_total:.3f}"
            )
            if as_price <= _SPREAD_RATIO * as_total:
                return _PerUnitVerdict(_PerUnit.UNIT_PRICE, detail)
            if as_total <= _SPREAD_RATIO * as_price:
                return _PerUnitVerdict(_PerUnit.TOTAL, detail)
    spread = float(log_quantity.var())
    if spread < 1e-9:
        return _PerUnitVerdict(None, f"'{quantity_name}' is the same on every line")
    elasticity = float(np.cov(log_value, log_quantity, bias=True)[0, 1] / spread)
    detail = f"'{value_name}' grows with '{quantity_name}' with elasticity {elasticity:.2f}"
    if elasticity < _UNIT_PRICE_BELOW:
        return _PerUnitVerdict(_PerUnit.UNIT_PRICE, detail)
    if elasticity > _LINE_TOTAL_ABOVE:
        return _PerUnitVerdict(_PerUnit.TOTAL, detail)
    return _PerUnitVerdict(None, detail)


def _agree(first: pd.Series, second: pd.Series) -> bool:
    """Whether two money columns hold (almost) the same values."""
    a = _numbers(first.reset_index(drop=True))
    b = _numbers(second.reset_index(drop=True))
    both = a.notna() & b.notna()
    if not both.any():
        return False
    close = (a[both] - b[both]).abs() <= 0.005 * np.maximum(a[both].abs(), b[both].abs()) + 0.005
    return bool(close.mean() >= _AGREEMENT_SHARE)


# --------------------------------------------------------------------------------------------
# Role decisions
# --------------------------------------------------------------------------------------------


def _money_columns(sample: pd.DataFrame, taken: set[str]) -> dict[str, tuple[MoneyKind, _Profile]]:
    """Numeric columns not taken by another role, with their header kind and profile."""
    result = {}
    for column in map(str, sample.columns):
        if column in taken:
            continue
        profile = _profile(sample[column])
        if profile.numeric:
            result[column] = (money_kind(column), profile)
    return result


@dataclass(slots=True)
class _RoleEditor:
    """The role assignment being settled: changes skip fixed roles and are marked as content."""

    assignment: dict[Role, str]
    sources: dict[str, str]
    fixed: set[Role]

    def assign(self, role: Role, column: str | None) -> None:
        """Give ``role`` to ``column`` (``None`` clears it), unless the role is fixed."""
        if role in self.fixed:
            return
        if column is None:
            self.assignment.pop(role, None)
            self.sources.pop(role.value, None)
            return
        self.assignment[role] = column
        self.sources[role.value] = "content"

    def free(self, column: str) -> bool:
        """Whether no role holds ``column`` yet."""
        return column not in self.assignment.values()


def settle_money_roles(
    frame: pd.DataFrame,
    assignment: dict[Role, str],
    sources: dict[str, str],
    fixed: set[Role],
) -> None:
    """Decide the amount, quantity and unit-price roles from headers and content together.

    ``assignment`` holds the roles matched from headers so far and is changed in place; roles
    in ``fixed`` (set or cleared by the user) are never touched. Roles changed here are
    recorded in ``sources`` as ``"content"``.
    """

    sample = frame.head(_SAMPLE_ROWS)
    money_roles = {Role.AMOUNT, Role.QUANTITY, Role.UNIT_PRICE}
    taken = {column for role, column in assignment.items() if role not in money_roles}
    columns = _money_columns(sample, taken)
    roles = _RoleEditor(assignment, sources, fixed)
    amount, ambiguous = _settle_total(sample, columns, roles)
    amount = _move_item_counts(columns, roles, amount)
    _settle_per_unit(sample, columns, roles, amount, ambiguous)


def _settle_total(
    sample: pd.DataFrame, columns: dict[str, tuple[MoneyKind, _Profile]], roles: _RoleEditor
) -> tuple[str | None, bool]:
    """Prefer a paid total as the amount; returns the amount and whether totals were ambiguous.

    A paid total beats an ordinary total; two ordinary totals that disagree are ambiguous.
    """
    amount = roles.assignment.get(Role.AMOUNT)
    ambiguous = False
    if Role.AMOUNT not in roles.fixed:
        paid = [c for c, (kind, p) in columns.items() if kind is MoneyKind.PAID_TOTAL and p.numeric]
        if paid and (amount is None or columns.get(amount, (None,))[0] is not MoneyKind.PAID_TOTAL):
            roles.assign(Role.AMOUNT, paid[0])
            roles.sources[Role.AMOUNT.value] = "header"
            amount = paid[0]
        elif amount is not None and _rival_totals(sample, columns, amount):
            # Left unassigned: validation names the candidates and the option that decides.
            roles.assign(Role.AMOUNT, None)
            amount, ambiguous = None, True
    return amount, ambiguous


def _move_item_counts(
    columns: dict[str, tuple[MoneyKind, _Profile]], roles: _RoleEditor, amount: str | None
) -> str | None:
    """Turn an "amount" of small whole numbers next to decimal money into the quantity.

    Returns the amount column afterwards.
    """
    small_counts = amount is not None and amount in columns and columns[amount][1].small_counts
    if amount is not None and Role.AMOUNT not in roles.fixed and small_counts:
        # Only a column named like money decides: whole prices next to a weight or a
        # shipping fee are common.
        money = [
            c
            for c, (kind, profile) in columns.items()
            if c != amount
            and profile.money_like
            and kind in (MoneyKind.TOTAL, MoneyKind.PAID_TOTAL)
            and roles.free(c)
        ]
        if money:
            if Role.QUANTITY not in roles.assignment and Role.QUANTITY not in roles.fixed:
                roles.assign(Role.QUANTITY, amount)
            else:
                roles.assign(Role.AMOUNT, None)
            roles.assign(Role.AMOUNT, money[0])
            amount = roles.assignment.get(Role.AMOUNT)
    return amount


def _settle_per_unit(
    sample: pd.DataFrame,
    columns: dict[str, tuple[MoneyKind, _Profile]],
    roles: _RoleEditor,
    amount: str | None,
    ambiguous: bool,
) -> None:
    """Decide from the content whether money columns are unit prices or line totals."""
    fixed = roles.fixed
    quantity = roles.assignment.get(Role.QUANTITY)
    price = roles.assignment.get(Role.UNIT_PRICE)
    product_column = _product_column(sample)
    product = sample[product_column] if product_column is not None else None

    def reading(column: str) -> _PerUnit | None:
        assert quantity is not None
        return _per_unit_test(sample[column], sample[quantity], product, (column, quantity)).reading

    if quantity is not None:
        if amount is not None and price is None and Role.AMOUNT not in fixed:
            kind = columns.get(amount, (MoneyKind.OTHER,))[0]
            if kind is not MoneyKind.PAID_TOTAL and reading(amount) is _PerUnit.UNIT_PRICE:
                roles.assign(Role.AMOUNT, None)
                roles.assign(Role.UNIT_PRICE, amount)
        elif amount is None and price is not None and Role.UNIT_PRICE not in fixed:
            if Role.AMOUNT not in fixed and reading(price) is _PerUnit.TOTAL:
                roles.assign(Role.UNIT_PRICE, None)
                roles.assign(Role.AMOUNT, price)
        elif amount is None and price is None and not ambiguous:
            candidate = next(
                (
                    c
                    for c, (kind, profile) in columns.items()
                    if profile.money_like and kind is MoneyKind.OTHER and roles.free(c)
                ),
                None,
            )
            if candidate is not None:
                if reading(candidate) is _PerUnit.UNIT_PRICE:
                    roles.assign(Role.UNIT_PRICE, candidate)
                else:
                    roles.assign(Role.AMOUNT, candidate)
    elif amount is None and price is not None and not fixed & {Role.AMOUNT, Role.UNIT_PRICE}:
        # Without a quantity every row is one item: its price is what was spent.
        roles.assign(Role.UNIT_PRICE, None)
        roles.assign(Role.AMOUNT, price)


def _rival_totals(
    sample: pd.DataFrame, columns: Mapping[str, tuple[MoneyKind, _Profile]], amount: str
) -> list[str]:
    """Other total-named money columns that disagree with ``amount`` (an ambiguity)."""
    if amount not in columns:
        return []
    kind, profile = columns[amount]
    if kind is not MoneyKind.TOTAL or profile.small_counts:
        return []
    return [
        column
        for column, (other_kind, other) in columns.items()
        if column != amount
        and other_kind is kind
        and not other.small_counts
        and not _agree(sample[amount], sample[column])
    ]


def amount_candidates(frame: pd.DataFrame, taken: Sequence[str] = ()) -> list[str]:
    """Columns that could hold the spend: total-named money columns not taken by another role.

    Used to name the choices when no amount could be decided (two plausible totals disagree).
    """
    columns = _money_columns(frame.head(_SAMPLE_ROWS), set(taken))
    return [
        column
        for column, (kind, profile) in columns.items()
        if kind in (MoneyKind.TOTAL, MoneyKind.PAID_TOTAL) and not profile.small_counts
    ]


# --------------------------------------------------------------------------------------------
# The spend sentence
# --------------------------------------------------------------------------------------------


class SpendFormula(StrEnum):
    """How spend per line is computed from the mapped columns."""

    TOTAL = "total"
    QUANTITY_X_PRICE = "quantity_x_price"
    QUANTITY_X_PRICE_MINUS_DISCOUNT = "quantity_x_price_minus_discount"
    QUANTITY_X_PRICE_X_RATE = "quantity_x_price_x_rate"


@dataclass(frozen=True, slots=True)
class RejectedColumn:
    """A money-like column that is not spend, with the reason (``key`` for translations)."""

    column: str
    key: str
    message: str
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpendExplanation:
    """How spend is computed for a mapping, in one sentence, and what was not taken as spend."""

    formula: SpendFormula
    columns: tuple[str, ...]
    sentence: str
    rejected: tuple[RejectedColumn, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json`` and the app)."""
        return {
            "formula": self.formula.value,
            "columns": list(self.columns),
            "sentence": self.sentence,
            "rejected": [
                {"column": item.column, "reason": item.key, "message": item.message}
                for item in self.rejected
            ],
        }


def discount_is_rate(column: str, values: pd.Series) -> bool:
    """Whether a discount column holds a rate (share of the price) rather than money off.

    A rate when the header says so (``rate``, ``pct``, ``%``, ``率``), when the values are
    written with a ``%``, or when every discount given lies strictly between 0 and 1 (order-line
    tables such as ``UnitPrice, Quantity, Discount`` with 0.05, 0.1, 0.25).
    """
    if _RATE_HEADER.search(column):
        return True
    if _MONEY_HEADER.search(column):
        # "Discount Amount", "优惠金额": money off, whatever its values.
        return False
    sample = values.dropna().iloc[:_SAMPLE_ROWS]
    if pd.api.types.is_string_dtype(sample) or sample.dtype == object:
        text = sample.astype("string").str.strip()
        if len(text) and bool(text.str.endswith("%").mean() > 0.5):
            return True
    numbers = _numbers(sample.reset_index(drop=True)).dropna().abs()
    given = numbers[numbers > 0]
    return bool(len(given) and (given < 1).all())


def discount_rates(values: pd.Series) -> pd.Series:
    """Discount rates as shares in [0, 1]: ``10%`` and a column of percentages become 0.10.

    The scale is decided once for the column: percentages when any value is above 1.
    """
    text = values.astype("string").str.strip().str.rstrip("%")
    rates = _numbers(text.reset_index(drop=True)).set_axis(values.index)
    if bool((rates.abs() > 1).any()):
        rates = rates / 100
    return rates


def spend_formula(mapping: ColumnMapping, frame: pd.DataFrame) -> SpendFormula:
    """The formula that :func:`~clv_core.validation.validate_transactions` applies."""
    if mapping.amount is not None:
        return SpendFormula.TOTAL
    if mapping.discount is None:
        return SpendFormula.QUANTITY_X_PRICE
    if discount_is_rate(mapping.discount, frame[mapping.discount]):
        return SpendFormula.QUANTITY_X_PRICE_X_RATE
    return SpendFormula.QUANTITY_X_PRICE_MINUS_DISCOUNT


def explain_spend(frame: pd.DataFrame, mapping: ColumnMapping) -> SpendExplanation:
    """One sentence on how spend per line is computed, and why other money columns are not spend.

    Parameters
    ----------
    frame
        The loaded table.
    mapping
        The roles validation uses (needs ``amount`` or ``quantity`` + ``unit_price``).
    """
    formula = spend_formula(mapping, frame)
    if formula is SpendFormula.TOTAL:
        used: tuple[str, ...] = (str(mapping.amount),)
        sentence = f"spend per line = {mapping.amount}"
    else:
        used = (str(mapping.quantity), str(mapping.unit_price))
        sentence = f"spend per line = {mapping.quantity} x {mapping.unit_price}"
        if formula is SpendFormula.QUANTITY_X_PRICE_MINUS_DISCOUNT:
            used += (str(mapping.discount),)
            sentence += f" - {mapping.discount}"
        elif formula is SpendFormula.QUANTITY_X_PRICE_X_RATE:
            used += (str(mapping.discount),)
            sentence += f" x (1 - {mapping.discount})"
    rejected = _rejected_columns(frame, mapping, formula, used)
    return SpendExplanation(formula, used, sentence, tuple(rejected))


def _rejected_columns(
    frame: pd.DataFrame, mapping: ColumnMapping, formula: SpendFormula, used: tuple[str, ...]
) -> list[RejectedColumn]:
    """Numeric columns that are neither spend nor a non-money role, each with its reason."""
    sample = frame.head(_SAMPLE_ROWS)
    non_money = {
        mapping.customer_id,
        mapping.order_date,
        mapping.order_id,
        mapping.signup_date,
        mapping.target,
        mapping.status,
        mapping.currency,
    }
    rejected = []
    spend = used[0] if formula is SpendFormula.TOTAL else f"{used[0]} x {used[1]}"
    for column in map(str, sample.columns):
        if column in used or column in non_money:
            continue
        kind = money_kind(column)
        profile = _profile(sample[column])
        if not profile.numeric:
            continue
        reason = _role_rejection(column, kind, profile, mapping, spend)
        if reason is None and kind in (MoneyKind.TOTAL, MoneyKind.PAID_TOTAL):
            same = formula is SpendFormula.TOTAL and _agree(sample[used[0]], sample[column])
            reason = _other_total_rejection(column, spend, same)
        if reason is not None:
            key, message = reason
            rejected.append(
                RejectedColumn(column, key, message, {"column": column, "spend": spend})
            )
    return rejected


def _role_rejection(
    column: str, kind: MoneyKind, profile: _Profile, mapping: ColumnMapping, spend: str
) -> tuple[str, str] | None:
    """``(key, message)`` when ``column`` is a cost, count, unit price or discount, else None."""
    if column == mapping.cost or kind is MoneyKind.COST:
        return "cost", f"'{column}' is the shop's cost, not what customers paid"
    if column == mapping.quantity:
        return (
            "quantity_not_needed",
            f"'{column}' counts items; '{spend}' already holds the line total",
        )
    if kind is MoneyKind.TOTAL and profile.small_counts and column != mapping.amount:
        return (
            "small_whole_numbers",
            f"'{column}' holds only small whole numbers (median "
            f"{profile.median_abs:g}): a count of items, not money",
        )
    if column == mapping.unit_price or kind is MoneyKind.UNIT_PRICE:
        return (
            "list_price",
            f"'{column}' is a price per unit; '{spend}' is what was charged for the "
            "line (after discounts)",
        )
    if column == mapping.discount or kind is MoneyKind.DISCOUNT:
        return (
            "discount_in_total",
            f"'{column}' is not subtracted: '{spend}' is taken as already net of discounts",
        )
    return None


def _other_total_rejection(column: str, spend: str, same: bool) -> tuple[str, str]:
    """``(key, message)`` for another total column; ``same`` when it repeats the spend values."""
    if same:
        return "same_values", f"'{column}' holds the same values as '{spend}'"
    return (
        "other_total",
        f"'{column}' is another total; '{spend}' was preferred (choose the "
        "amount column to change this)",
    )


# --------------------------------------------------------------------------------------------
# Plausibility
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoneyWarning:
    """Something about the money that looks off, with a suggested fix.

    ``roles`` are column roles to set (a column name) or clear (``None``); ``guest_ids`` are
    customer ids to treat as guests. ``flags`` is the same suggestion as command-line options.
    """

    key: str
    message: str
    values: Mapping[str, str] = field(default_factory=dict)
    roles: Mapping[str, str | None] = field(default_factory=dict)
    guest_ids: tuple[str, ...] = ()

    @property
    def has_suggestion(self) -> bool:
        """Whether applying :attr:`roles` / :attr:`guest_ids` is offered."""
        return bool(self.roles or self.guest_ids)

    @property
    def flags(self) -> str:
        """The suggestion as command-line options (empty without one)."""

        parts = []
        for role, column in self.roles.items():
            word = _shell_word(column) if column is not None else "none"
            parts.append(f"{ROLE_OPTIONS[Role(role)]} {word}")
        parts.extend(f"--guest-id {_shell_word(guest)}" for guest in self.guest_ids)
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "key": self.key,
            "message": self.message,
            "suggested_roles": dict(self.roles),
            "suggested_guest_ids": list(self.guest_ids),
            "flags": self.flags,
        }


def _shell_word(text: str) -> str:
    return text if re.fullmatch(r"[\w.\-]+", text) else "'" + text.replace("'", "'\\''") + "'"


@dataclass(frozen=True, slots=True)
class MoneyCheck:
    """Plausibility figures of the money and the warnings they raise.

    ``figures``: ``median_order_value`` and ``p99_order_value`` (orders with a positive
    value), ``negative_line_share`` and ``zero_line_share`` (of the lines used),
    ``orders_per_customer_mean`` / ``_median``, ``lines_per_order``,
    ``top_customer_spend_share``; ``currencies`` lists the currencies seen with their lines.
    """

    explanation: SpendExplanation
    figures: Mapping[str, float]
    currencies: Mapping[str, int]
    warnings: tuple[MoneyWarning, ...]

    def describe(self) -> list[str]:
        """Human-readable lines: the spend sentence, what is not spend, figures, warnings."""
        figures = self.figures
        lines = [f"  spend: {self.explanation.sentence}"]
        lines.extend(f"  not spend: {item.message}" for item in self.explanation.rejected)
        lines.append(
            f"  money: median order value {figures['median_order_value']:,.2f}, 99th percentile "
            f"{figures['p99_order_value']:,.2f}; negative lines "
            f"{figures['negative_line_share']:.1%}, zero lines {figures['zero_line_share']:.1%}; "
            f"orders per customer {figures['orders_per_customer_mean']:,.2f} (median "
            f"{figures['orders_per_customer_median']:g}); largest customer "
            f"{figures['top_customer_spend_share']:.1%} of spend"
        )
        for warning in self.warnings:
            fix = f" To apply the suggestion: {warning.flags}" if warning.has_suggestion else ""
            lines.append(f"  money warning: {warning.message}{fix}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``--json``)."""
        return {
            "spend": self.explanation.to_dict(),
            "figures": dict(self.figures),
            "currencies": dict(self.currencies),
            "warnings": [warning.to_dict() for warning in self.warnings],
        }


@dataclass(frozen=True, slots=True)
class MoneyTotals:
    """The aggregates of validated money the plausibility figures and warnings are made of.

    Computed from pandas frames by :func:`check_money` and by SQL in
    :mod:`clv_core.sql.validation`; either way :func:`assess_money` turns them into the check.
    ``top_spend_customer``/``top_orders_customer`` are the first customer (in order of first
    appearance) with the largest positive spend / the most orders.
    """

    median_purchase: float
    p99_purchase: float
    n_lines: int
    negative_lines: int
    zero_lines: int
    n_orders: int
    n_customers: int
    mean_orders: float
    median_orders: float
    max_orders: int
    top_orders_customer: str
    positive_spend: float
    top_spend: float
    top_spend_customer: str


def check_money(
    frame: pd.DataFrame,
    mapping: ColumnMapping,
    line_amounts: pd.Series,
    used: np.ndarray,
    orders: pd.DataFrame,
    *,
    counted_once: np.ndarray | None = None,
) -> MoneyCheck:
    """Plausibility figures and warnings for validated money.

    Parameters
    ----------
    frame
        The loaded table (one row per line).
    mapping
        The roles validation used.
    line_amounts
        Spend per row of ``frame`` as validation computed it.
    used
        Boolean mask of the rows of ``frame`` that made it into ``orders``.
    orders
        The clean orders (``customer_id``, ``amount``), one row per order.
    counted_once
        Rows whose order total stands on another line of the order (set to 0 by validation);
        they are not lines of their own in the figures.
    """
    lines = line_amounts[used if counted_once is None else used & ~counted_once]
    order_values = orders["amount"]
    purchases = order_values[order_values > 0]
    # Integer codes and bincount: grouping ten million string ids would take seconds.
    codes, customers = pd.factorize(orders["customer_id"])
    n_orders = pd.Series(np.bincount(codes), index=customers)
    spend = pd.Series(np.bincount(codes, weights=order_values.to_numpy(float)), index=customers)
    positive_spend = spend.clip(lower=0)
    totals = MoneyTotals(
        median_purchase=float(purchases.median()),
        p99_purchase=float(purchases.quantile(0.99)),
        n_lines=len(lines),
        negative_lines=int((lines < 0).sum()),
        zero_lines=int((lines == 0).sum()),
        n_orders=len(orders),
        n_customers=len(n_orders),
        mean_orders=float(n_orders.mean()),
        median_orders=float(n_orders.median()),
        max_orders=int(n_orders.max()) if len(n_orders) else 0,
        top_orders_customer=str(n_orders.idxmax()) if len(n_orders) else "",
        positive_spend=float(positive_spend.sum()),
        top_spend=float(positive_spend.max()) if len(n_orders) else 0.0,
        top_spend_customer=str(positive_spend.idxmax()) if positive_spend.sum() > 0 else "",
    )
    currencies: dict[str, int] = {}
    if mapping.currency is not None:
        counts = frame.loc[used, mapping.currency].astype("string").str.strip().value_counts()
        currencies = {str(name): int(count) for name, count in counts.items()}
    sample_rows = np.flatnonzero(used)[:_SAMPLE_ROWS]
    return assess_money(
        frame.head(_SAMPLE_ROWS),
        mapping,
        totals,
        sample=frame.iloc[sample_rows],
        sample_amounts=line_amounts.iloc[sample_rows],
        first_lines=lines.iloc[:_SAMPLE_ROWS],
        currencies=currencies,
    )


def assess_money(
    head: pd.DataFrame,
    mapping: ColumnMapping,
    totals: MoneyTotals,
    *,
    sample: pd.DataFrame,
    sample_amounts: pd.Series,
    first_lines: pd.Series,
    currencies: Mapping[str, int],
) -> MoneyCheck:
    """The money check from its aggregates and the first rows.

    ``head`` is the loaded table's first rows, ``sample`` its first used rows with their spend
    ``sample_amounts``, and ``first_lines`` the spend of the first lines used (each at most
    50,000 rows).
    """
    figures = {
        "median_order_value": _rounded(totals.median_purchase),
        "p99_order_value": _rounded(totals.p99_purchase),
        "negative_line_share": _rounded(_share(totals.negative_lines, totals.n_lines), 4),
        "zero_line_share": _rounded(_share(totals.zero_lines, totals.n_lines), 4),
        "orders_per_customer_mean": _rounded(totals.mean_orders),
        "orders_per_customer_median": _rounded(totals.median_orders),
        "lines_per_order": _rounded(totals.n_lines / max(totals.n_orders, 1)),
        "top_customer_spend_share": _rounded(
            totals.top_spend / totals.positive_spend if totals.positive_spend > 0 else 0.0, 4
        ),
    }
    warnings = [
        *_spend_is_cost(sample, mapping),
        *_amount_is_unit_price(sample, mapping),
        *_small_integer_spend(sample, mapping, first_lines),
        *_order_value_below_price(sample, mapping, figures["median_order_value"]),
        *_cost_above_spend(sample, mapping, sample_amounts),
        *_dominant_customer(totals),
        *_mixed_currencies(currencies, mapping),
    ]
    return MoneyCheck(explain_spend(head, mapping), figures, currencies, tuple(warnings))


def _share(part: int, whole: int) -> float:
    """``part / whole``; NaN for nothing (as the mean of an empty selection)."""
    return part / whole if whole else float("nan")


def _rounded(value: float, digits: int = 2) -> float:
    return round(float(value), digits) if np.isfinite(value) else 0.0


def _other_money_column(sample: pd.DataFrame, mapping: ColumnMapping) -> str | None:
    """A decimal money column other than the spend and the cost (a better spend candidate)."""
    taken = set(mapping.assigned().values())
    for column in map(str, sample.columns):
        if column in taken:
            continue
        kind = money_kind(column)
        if kind in (MoneyKind.COST, MoneyKind.DISCOUNT, MoneyKind.QUANTITY):
            continue
        if _profile(sample[column]).money_like:
            return column
    return None


def _spend_is_cost(sample: pd.DataFrame, mapping: ColumnMapping) -> list[MoneyWarning]:
    """The amount column is named like the shop's cost."""
    if mapping.amount is None or money_kind(mapping.amount) is not MoneyKind.COST:
        return []
    other = _other_money_column(sample, mapping)
    return [
        MoneyWarning(
            "spend_is_cost",
            f"The spend is taken from '{mapping.amount}', which is named like the shop's cost, "
            "not what customers paid.",
            {"column": str(mapping.amount)},
            {"amount": other, "cost": mapping.amount} if other is not None else {},
        )
    ]


def _amount_is_unit_price(sample: pd.DataFrame, mapping: ColumnMapping) -> list[MoneyWarning]:
    """The amount column behaves like a price per unit next to a quantity column."""
    if mapping.amount is None or mapping.quantity is None:
        return []
    if money_kind(mapping.amount) is MoneyKind.PAID_TOTAL:
        return []
    product_column = _product_column(sample)
    verdict = _per_unit_test(
        sample[mapping.amount],
        sample[mapping.quantity],
        sample[product_column] if product_column is not None else None,
        (mapping.amount, mapping.quantity),
    )
    if verdict.reading is not _PerUnit.UNIT_PRICE:
        return []
    return [
        MoneyWarning(
            "amount_is_unit_price",
            f"'{mapping.amount}' looks like a price per unit, not a line total ({verdict.evidence})"
            f": spend is probably {mapping.quantity} x {mapping.amount}.",
            {"column": str(mapping.amount), "quantity": str(mapping.quantity)},
            {"amount": None, "unit_price": mapping.amount},
        )
    ]


def _small_integer_spend(
    sample: pd.DataFrame, mapping: ColumnMapping, lines: pd.Series
) -> list[MoneyWarning]:
    """Spend made only of small whole numbers: item counts rather than money."""
    if mapping.amount is None or len(lines) == 0:
        return []
    lines = lines.iloc[:_SAMPLE_ROWS]
    if not _profile(lines).small_counts:
        return []
    other = _other_money_column(sample, mapping)
    median = float(lines.abs().median())
    if other is None and median > 3:
        # Whole prices are common; without a decimal alternative only tiny values look wrong.
        return []
    roles: dict[str, str | None] = {}
    hint = ""
    if other is not None:
        roles = {"amount": other, "quantity": mapping.amount}
        hint = f" '{other}' holds decimal money: it is probably the spend."
    return [
        MoneyWarning(
            "spend_small_integers",
            f"Every spend value in '{mapping.amount}' is a small whole number (median "
            f"{median:g}): it looks like a count of items, not money.{hint}",
            {"column": str(mapping.amount), "other": other or ""},
            roles,
        )
    ]


def _order_value_below_price(
    sample: pd.DataFrame, mapping: ColumnMapping, median_order_value: float
) -> list[MoneyWarning]:
    if mapping.amount is None:
        return []
    taken = set(mapping.assigned().values())
    for column in map(str, sample.columns):
        if column in taken or money_kind(column) is not MoneyKind.UNIT_PRICE:
            continue
        prices = _numbers(sample[column].reset_index(drop=True))
        median_price = float(prices[prices > 0].median()) if (prices > 0).any() else 0.0
        if median_price > 0 and median_order_value < median_price:
            roles: dict[str, str | None] = {"amount": None, "unit_price": column}
            if mapping.quantity is None:
                roles = {"amount": column}
            return [
                MoneyWarning(
                    "order_value_below_unit_price",
                    f"The median order value ({median_order_value:,.2f}) is below the median "
                    f"unit price in '{column}' ({median_price:,.2f}): '{mapping.amount}' is "
                    "probably not the amount paid per line.",
                    {
                        "column": column,
                        "amount": str(mapping.amount),
                        "order_value": f"{median_order_value:,.2f}",
                        "price": f"{median_price:,.2f}",
                    },
                    roles,
                )
            ]
    return []


def _cost_above_spend(
    sample: pd.DataFrame, mapping: ColumnMapping, line_amounts: pd.Series
) -> list[MoneyWarning]:
    if mapping.cost is None:
        return []
    cost = _numbers(sample[mapping.cost].reset_index(drop=True)).to_numpy(float)
    spend = line_amounts.to_numpy(float)
    both = np.isfinite(cost) & np.isfinite(spend) & (cost > 0) & (spend > 0)
    if both.sum() < 10 or float(np.median(cost[both])) <= float(np.median(spend[both])):
        return []
    other = _other_money_column(sample, mapping)
    roles: dict[str, str | None] = {"amount": other} if other is not None else {}
    return [
        MoneyWarning(
            "cost_above_spend",
            f"The cost in '{mapping.cost}' is larger than the spend on most lines (median "
            f"{np.median(cost[both]):,.2f} vs {np.median(spend[both]):,.2f}): the spend column "
            "is probably not what customers paid.",
            {"cost": mapping.cost, "spend": " x ".join(explain_spend_columns(mapping))},
            roles,
        )
    ]


def explain_spend_columns(mapping: ColumnMapping) -> tuple[str, ...]:
    """The columns spend is computed from, in formula order."""
    if mapping.amount is not None:
        return (mapping.amount,)
    return tuple(str(column) for column in (mapping.quantity, mapping.unit_price))


def _dominant_customer(totals: MoneyTotals) -> list[MoneyWarning]:
    """One id holding most of the spend or orders is often a guest or placeholder account."""
    if totals.n_customers < 10:
        return []
    total = totals.positive_spend
    top_spend = totals.top_spend_customer if total > 0 else ""
    spend_share = totals.top_spend / total if total > 0 else 0.0
    top_orders = totals.top_orders_customer
    order_share = totals.max_orders / totals.n_orders
    many_orders = order_share >= 0.2 and totals.max_orders >= 20 * max(totals.median_orders, 1)
    if spend_share > 0.5:
        key, customer, share, what = "dominant_customer_spend", top_spend, spend_share, "spend"
    elif many_orders:
        key, customer, share, what = "dominant_customer_orders", top_orders, order_share, "orders"
    else:
        return []
    return [
        MoneyWarning(
            key,
            f"Customer id '{customer}' holds {share:.0%} of all {what}. If it is a placeholder "
            "for guest or walk-in orders, treat it as guests (its rows are then dropped and "
            "counted).",
            {"customer": customer, "share": f"{share:.0%}"},
            guest_ids=(customer,),
        )
    ]


def _mixed_currencies(currencies: Mapping[str, int], mapping: ColumnMapping) -> list[MoneyWarning]:
    if len(currencies) <= 1:
        return []
    listed = ", ".join(f"{name} ({count:,} lines)" for name, count in currencies.items())
    return [
        MoneyWarning(
            "mixed_currencies",
            f"The spend mixes currencies in '{mapping.currency}': {listed}. Amounts are added "
            "as they are; convert them to one currency first, or load one currency at a time.",
            {"column": str(mapping.currency), "currencies": listed},
        )
    ]
