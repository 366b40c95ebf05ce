"""Column roles: which column of a user's table is the customer id, the order date, the amount.

Roles are detected from the headers first (case-, space- and punctuation-insensitive, English and
Chinese synonyms), then from the content of the columns that are still unassigned (a column whose
values parse as dates, a numeric column with decimals), and any role can be set explicitly, which
always wins. The result says for every role how it was found, so the app can show the mapping as
editable selects and the CLI can print it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum

import pandas as pd

from clv_core.errors import DataError
from clv_core.kinds import InputShape

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


class Role(StrEnum):
    """What a column means to the pipeline."""

    CUSTOMER_ID = "customer_id"
    ORDER_DATE = "order_date"
    AMOUNT = "amount"
    ORDER_ID = "order_id"
    QUANTITY = "quantity"
    UNIT_PRICE = "unit_price"
    SIGNUP_DATE = "signup_date"
    TARGET = "target"
    STATUS = "status"
    COST = "cost"
    DISCOUNT = "discount"
    CURRENCY = "currency"


# The command-line option that sets each role (``none`` clears it).
ROLE_OPTIONS: Mapping[Role, str] = {
    Role.CUSTOMER_ID: "--customer-col",
    Role.ORDER_DATE: "--date-col",
    Role.AMOUNT: "--amount-col",
    Role.ORDER_ID: "--order-id-col",
    Role.QUANTITY: "--quantity-col",
    Role.UNIT_PRICE: "--unit-price-col",
    Role.SIGNUP_DATE: "--signup-col",
    Role.TARGET: "--target-col",
    Role.STATUS: "--status-col",
    Role.COST: "--cost-col",
    Role.DISCOUNT: "--discount-col",
    Role.CURRENCY: "--currency-col",
}


# Synonyms are compared after `normalise_header`, so "Customer ID", "customer_id" and
# "CUSTOMER-ID" are one entry. The order inside a role is the preference when several match.
ROLE_SYNONYMS: Mapping[Role, tuple[str, ...]] = {
    Role.CUSTOMER_ID: (
        "customerid",
        "customer",
        "custid",
        "clientid",
        "client",
        "userid",
        "user",
        "uid",
        "memberid",
        "member",
        "buyerid",
        "buyer",
        "shopperid",
        "accountid",
        "contactid",
        "householdkey",
        "cardid",
        "loyaltycard",
        "email",
        "customeremail",
        "buyeremail",
        "用户id",
        "用户编号",
        "用户",
        "客户id",
        "客户编号",
        "客户",
        "会员id",
        "会员编号",
        "会员",
        "买家id",
        "买家",
        "买家账号",
        "买家昵称",
        "会员名",
        "邮箱",
    ),
    Role.ORDER_DATE: (
        "orderdate",
        "orderdatetime",
        "ordertime",
        "invoicedate",
        "purchasedate",
        "purchasetime",
        "transactiondate",
        "transactiontime",
        "txndate",
        "saledate",
        "paymentdate",
        "paytime",
        "date",
        "datetime",
        "timestamp",
        "time",
        "createdat",
        "下单时间",
        "下单日期",
        "订单日期",
        "订单时间",
        "购买日期",
        "购买时间",
        "交易日期",
        "交易时间",
        "交易创建时间",
        "创建时间",
        "成交时间",
        "支付时间",
        "付款时间",
        "日期",
        "时间",
    ),
    Role.AMOUNT: (
        "amount",
        "orderamount",
        "ordervalue",
        "ordertotal",
        "total",
        "totalamount",
        "revenue",
        "sales",
        "salesamount",
        "salesvalue",
        "spend",
        "value",
        "dollarvalue",
        "netamount",
        "amountpaid",
        "paidamount",
        "totalpaid",
        "netsales",
        "netrevenue",
        "netvalue",
        "linetotal",
        "lineamount",
        "payment",
        "paymentamount",
        "paymentvalue",
        "gmv",
        "totalprice",
        "订单金额",
        "金额",
        "实付金额",
        "实付款",
        "实付",
        "实收金额",
        "实收",
        "支付金额",
        "付款金额",
        "销售额",
        "销售金额",
        "消费金额",
        "交易金额",
        "成交金额",
        "订单总额",
        "总金额",
        "小计",
    ),
    Role.ORDER_ID: (
        "orderid",
        "order",
        "orderno",
        "ordernumber",
        "invoiceid",
        "invoice",
        "invoiceno",
        "transactionid",
        "txnid",
        "receiptid",
        "订单id",
        "订单号",
        "订单编号",
        "交易号",
        "流水号",
    ),
    Role.QUANTITY: (
        "quantity",
        "qty",
        "units",
        "numberofitems",
        "lineitemquantity",
        "quantityordered",
        "items",
        "itemcount",
        "pieces",
        "pcs",
        "数量",
        "购买数量",
        "商品数量",
        "件数",
    ),
    Role.UNIT_PRICE: (
        "unitprice",
        "itemprice",
        "price",
        "lineitemprice",
        "salesprice",
        "sellingprice",
        "priceperunit",
        "单价",
        "商品单价",
        "售价",
        "销售单价",
        "成交单价",
        "价格",
        "商品价格",
    ),
    Role.SIGNUP_DATE: (
        "signupdate",
        "signup",
        "registrationdate",
        "registerdate",
        "registeredat",
        "joindate",
        "joined",
        "createddate",
        "accountcreated",
        "firstseen",
        "注册时间",
        "注册日期",
        "开户日期",
        "入会时间",
        "入会日期",
    ),
    Role.TARGET: (
        "lifetimevalue",
        "clv",
        "ltv",
        "customerlifetimevalue",
        "futurevalue",
        "futurespend",
        "target",
        "label",
        "终身价值",
        "生命周期价值",
        "客户终身价值",
        "用户终身价值",
        "未来价值",
    ),
    Role.STATUS: (
        "status",
        "orderstatus",
        "financialstatus",
        "paymentstatus",
        "transactionstatus",
        "orderstate",
        "订单状态",
        "交易状态",
        "支付状态",
        "付款状态",
        "状态",
    ),
    Role.COST: (
        "cost",
        "costprice",
        "unitcost",
        "linecost",
        "costofgoods",
        "cogs",
        "purchaseprice",
        "成本",
        "成本价",
        "成本金额",
        "进价",
        "采购价",
    ),
    Role.DISCOUNT: (
        "discount",
        "discountamount",
        "lineitemdiscount",
        "discounts",
        "couponamount",
        "discountrate",
        "discountpct",
        "优惠",
        "优惠金额",
        "折扣",
        "折扣金额",
        "店铺优惠",
        "折扣率",
    ),
    Role.CURRENCY: ("currency", "currencycode", "货币", "币种"),
}

_NON_WORD = re.compile(r"[\s_\-./()\[\]（）【】:：·]+")


# A currency unit after a money header ("金额（元）", "Unit Price (EUR)", "Total $").
_CURRENCY_UNIT = re.compile(r"(?<=.)(?:元|rmb|cny|usd|eur|gbp|jpy|hkd|[$¥￥€£])$")


def normalise_header(name: object) -> str:
    """Return a header in the form used for synonym matching.

    Lower case, with spaces, underscores, hyphens, dots, brackets and colons removed (half- and
    full-width), so ``"Customer ID"``, ``"customer_id"`` and ``"用户 ID"`` all match; a trailing
    currency unit is dropped, so ``"金额（元）"`` and ``"Unit Price (EUR)"`` match too.
    """
    return _CURRENCY_UNIT.sub("", _NON_WORD.sub("", str(name).strip().lower()))


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnMapping:
    """Which source column plays which role; ``None`` when the role is absent.

    ``sources`` records for every assigned role how it was found: ``"user"`` (given explicitly),
    ``"header"`` (matched a synonym) or ``"content"`` (inferred from the values).
    """

    customer_id: str | None = None
    order_date: str | None = None
    amount: str | None = None
    order_id: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    signup_date: str | None = None
    target: str | None = None
    status: str | None = None
    cost: str | None = None
    discount: str | None = None
    currency: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)

    def get(self, role: Role) -> str | None:
        """The source column assigned to ``role``."""
        value: str | None = getattr(self, role.value)
        return value

    def assigned(self) -> dict[Role, str]:
        """All assigned roles, in role order."""
        return {role: column for role in Role if (column := self.get(role)) is not None}

    def with_roles(self, **roles: str | None) -> ColumnMapping:
        """A copy with some roles set (or cleared with ``None``) explicitly by the user."""
        unknown = sorted(set(roles) - {role.value for role in Role})
        if unknown:
            raise DataError(
                f"Unknown column role(s) {unknown}; valid roles are {[r.value for r in Role]}."
            )
        sources = dict(self.sources)
        for role, column in roles.items():
            if column is None:
                sources.pop(role, None)
            else:
                sources[role] = "user"
        values = self.to_dict()
        values.update(roles)
        return _mapping_from(values, sources)

    def to_dict(self) -> dict[str, str | None]:
        """The mapping as plain JSON-friendly data: role -> column (or None)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}


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
        from clv_core.money import settle_money_roles

        fixed = cleared | {Role(role_name) for role_name, column in overrides.items() if column}
        settle_money_roles(frame, assignment, sources, fixed)
    return _mapping_from({role.value: column for role, column in assignment.items()}, sources)


def _mapping_from(values: Mapping[str, str | None], sources: dict[str, str]) -> ColumnMapping:
    return ColumnMapping(
        customer_id=values.get("customer_id"),
        order_date=values.get("order_date"),
        amount=values.get("amount"),
        order_id=values.get("order_id"),
        quantity=values.get("quantity"),
        unit_price=values.get("unit_price"),
        signup_date=values.get("signup_date"),
        target=values.get("target"),
        status=values.get("status"),
        cost=values.get("cost"),
        discount=values.get("discount"),
        currency=values.get("currency"),
        sources=sources,
    )


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
    from clv_core.validation import parse_amounts, parse_dates

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
        from clv_core.money import MoneyKind, money_kind

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
