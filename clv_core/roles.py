"""Column roles and a table's mapping of roles to columns: the vocabulary every reader shares.

``Role`` names what a column can mean (customer id, order date, amount, ...), ``ROLE_SYNONYMS``
the header words that announce each role in English and Chinese, ``normalise_header`` how
headers are compared, and ``ColumnMapping`` which column plays which role and how it was found.
Detecting the roles of a table is :mod:`clv_core.columns`; what the money columns mean is
:mod:`clv_core.money`. Both build on this module, which imports neither.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum

from clv_core.errors import DataError

__all__ = [
    "ROLE_OPTIONS",
    "ROLE_SYNONYMS",
    "ColumnMapping",
    "Role",
    "mapping_from_values",
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
        return mapping_from_values(values, sources)

    def to_dict(self) -> dict[str, str | None]:
        """The mapping as plain JSON-friendly data: role -> column (or None)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"}


def mapping_from_values(values: Mapping[str, str | None], sources: dict[str, str]) -> ColumnMapping:
    """A mapping from role -> column values and role -> how each was found."""
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
