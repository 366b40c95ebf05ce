"""Five seeded, realistic e-commerce exports together with the money a correct reader must find.

The engine has to read exports as analysts download them: float customer ids, guests, item
counts in a column called ``AMOUNT``, order statuses, a second file of order lines, GB18030 text
and an Excel title row. This module simulates the orders behind each export, writes the export
the way the source system would, and keeps the ground truth it computed from its own simulated
orders. The truth is never obtained by parsing the written files back, and nothing here imports
``clv_core``, so the corpus is an independent source of truth for the engine's tests.

Exports (:func:`build_corpus` writes all five and returns them by name):

``erp_invoice_lines``
    ``erp_invoice_lines.csv``, a UK online-retail ERP invoice-line export. Money is
    ``Quantity × Price`` (no line-total column). ``Customer ID`` is float text (``13085.0``;
    the engine should see ``"13085"``) and empty for guests (about 20% of lines, whole guest
    invoices). Cancellation invoices (``C`` + digits) have negative quantities; most refund part
    of an earlier sale of the same customer, a few refund products the customer never bought in
    the file (the sale predates the export). A few lines have ``Price`` 0.00 (always next to
    priced lines of the same invoice) and a few lines are repeated verbatim within an invoice;
    both copies count.
``grocery_line_items``
    ``grocery_line_items.csv``, a loyalty-card line-item log without order ids. ``AMOUNT`` is the
    number of items, ``COST`` the shop's cost and ``SALES_VALUE`` the money paid. A visit (one
    order) is all lines of a customer on one day; a few visits contain one returned item as a
    line with negative ``AMOUNT``, ``COST`` and ``SALES_VALUE`` (every visit stays positive).
``shop_orders``
    ``shop_orders.csv`` (one row per order, newest first) and ``shop_order_lines.csv`` (lines
    joined by ``Name``). Money is ``quantity × price − discount`` of lines of orders whose
    ``Financial Status`` is ``paid`` or ``partially_refunded`` (counted in full). A few paid
    point-of-sale orders have an empty ``Email`` (``no_customer_id``); a few lines belong to
    deleted orders missing from the orders file (``unknown_order``); a few orders have no line.
``cn_marketplace``
    ``cn_marketplace_orders.csv`` in GB18030 with CRLF line ends, newest first. Money is
    ``实付金额`` (after discounts, usually below ``商品单价 × 购买数量``) of lines whose
    ``订单状态`` is 交易成功 or 已发货. A few orders are by the guest placeholder ``游客``. One
    product name holds 𠮷, a character outside GBK, so the file decodes only as GB18030.
``xlsx_title_row``
    ``sales_report.xlsx``: title in A1, row 2 empty, header in row 3, one row per order with an
    Excel datetime ``Order Date`` and a numeric ``Net Amount``. Refunds are their own rows with
    an ``R-`` order number, negative ``Items`` and a negative ``Net Amount``.

Ground truth
    ``true_orders`` has one row per counted order: per (customer, order id) for exports with an
    order id, per (customer, calendar day) for the grocery log, dated at the order's earliest
    line, with the summed amount; a cancellation or refund document is its own negative row.
    Dates without a time of day are at midnight; the shop's UTC offsets are dropped keeping the
    local wall time. No customer has two orders at the same moment, so sorting by
    ``(customer_id, order_date)`` is unambiguous. ``true_spend`` is the sum per customer. Money
    is simulated in integer cents, so amounts are the exact decimal values written to the files.

Counts and their identity
    Every data line gets exactly one fate: it counts (``counted_lines``) or it is excluded for
    one reason. The reasons are disjoint by construction (guests and point-of-sale orders always
    have a counting status, lines of unknown orders carry no customer), so::

        lines == counted_lines + no_customer_id + guest_placeholder + status_cancelled
                 + status_refunded + status_unpaid + unknown_order

    holds for every export. ``cancellation_lines`` are lines of documents marked by their id
    prefix (ERP ``C``, spreadsheet ``R-``); they always have a customer and a counting status,
    so they are a part of ``counted_lines``, not an exclusion. Returned grocery items and
    partially refunded shop orders are not marked by an id and are not cancellation lines.
    ``orders_without_lines`` counts rows of the shop's orders file and is outside the identity;
    ``orders`` is the number of rows of ``true_orders``.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

__all__ = [
    "COUNT_KEYS",
    "DROP_REASONS",
    "EXCLUSION_KEYS",
    "EXPORT_NAMES",
    "CorpusExport",
    "build_corpus",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]
TextArray = npt.NDArray[np.str_]
MomentArray = npt.NDArray[np.datetime64]

# The reason keys under which a correct engine reports the excluded lines of each count (the
# engine's ``RowIssue`` values, written out here so that the corpus imports nothing from it).
DROP_REASONS: Final = {
    "no_customer_id": "missing_customer_id",
    "guest_placeholder": "guest_customer_id",
    "status_cancelled": "order_cancelled",
    "status_refunded": "order_refunded",
    "status_unpaid": "order_unpaid",
    "unknown_order": "unknown_order",
}

EXPORT_NAMES: Final = (
    "erp_invoice_lines",
    "grocery_line_items",
    "shop_orders",
    "cn_marketplace",
    "xlsx_title_row",
)
# The reasons a line does not count; together with counted_lines they partition all lines.
EXCLUSION_KEYS: Final = (
    "no_customer_id",
    "guest_placeholder",
    "status_cancelled",
    "status_refunded",
    "status_unpaid",
    "unknown_order",
)
COUNT_KEYS: Final = (
    "lines",
    "no_customer_id",
    "guest_placeholder",
    "status_cancelled",
    "status_refunded",
    "status_unpaid",
    "cancellation_lines",
    "unknown_order",
    "orders_without_lines",
    "counted_lines",
    "orders",
)
_COUNTED: Final = "counted_lines"


@dataclass(frozen=True, slots=True)
class CorpusExport:
    """One written export and the money a correct reader must find in it.

    Attributes
    ----------
    name : str
        One of :data:`EXPORT_NAMES`.
    files : dict of str to Path
        ``"transactions"`` is the main file; the two-file shop export also has ``"order_lines"``.
    true_spend : pandas.Series
        Net spend (float) per customer id (str, stripped, a float id ``13085.0`` as ``"13085"``),
        sorted by id; only customers with at least one counted line. Index named
        ``customer_id``, series named ``net_spend``.
    true_orders : pandas.DataFrame
        Columns ``customer_id`` (str), ``order_date`` (datetime64[ns]) and ``amount`` (float),
        one row per counted order, sorted by ``customer_id`` and ``order_date``.
    counts : dict of str to int
        Line counts by reason, every key of :data:`COUNT_KEYS` (0 where not applicable).
    spend_columns : tuple of str
        The header names the engine's spend sentence must name.
    description : str
        What the export imitates and which quirks it has.
    """

    name: str
    files: dict[str, Path]
    true_spend: pd.Series
    true_orders: pd.DataFrame
    counts: dict[str, int]
    spend_columns: tuple[str, ...]
    description: str

    def __post_init__(self) -> None:
        problems = []
        if self.name not in EXPORT_NAMES:
            problems.append(f"name {self.name!r} is not one of {', '.join(EXPORT_NAMES)}")
        if "transactions" not in self.files:
            problems.append(f"files has no 'transactions' entry (keys: {sorted(self.files)})")
        missing = [key for key in COUNT_KEYS if key not in self.counts]
        unknown = [key for key in self.counts if key not in COUNT_KEYS]
        if missing or unknown:
            problems.append(f"counts keys are wrong (missing {missing}, unknown {unknown})")
        if list(self.true_orders.columns) != ["customer_id", "order_date", "amount"]:
            problems.append(f"true_orders has columns {list(self.true_orders.columns)}")
        if problems:
            raise ValueError("Invalid corpus export: " + "; ".join(problems) + ".")


def build_corpus(directory: Path, *, seed: int = 0) -> dict[str, CorpusExport]:
    """Write the five exports into ``directory`` and return them with their ground truth.

    Parameters
    ----------
    directory : Path
        Folder for the files; created if missing. Existing files of the same names are replaced.
    seed : int, default 0
        Seed of ``np.random.default_rng``. The same seed writes byte-identical files.

    Returns
    -------
    dict of str to CorpusExport
        The exports keyed by name, in the order of :data:`EXPORT_NAMES`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # Each export draws from its own child stream, so changing one export's simulation leaves
    # the others' files unchanged.
    streams = np.random.default_rng(seed).spawn(len(EXPORT_NAMES))
    builders = (
        _build_erp_invoice_lines,
        _build_grocery_line_items,
        _build_shop_orders,
        _build_cn_marketplace,
        _build_xlsx_title_row,
    )
    exports = [
        builder(directory, stream) for builder, stream in zip(builders, streams, strict=True)
    ]
    return {export.name: export for export in exports}


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _money_text(cents: IntArray) -> list[str]:
    """Cents as decimal text with two decimals (``-1234`` -> ``"-12.34"``)."""
    return [f"{value / 100:.2f}" for value in cents.tolist()]


def _distinct_integers(rng: np.random.Generator, low: int, high: int, size: int) -> IntArray:
    """``size`` distinct integers from ``[low, high)`` in draw order, without a huge arange."""
    values: list[int] = []
    seen: set[int] = set()
    while len(values) < size:
        for value in rng.integers(low, high, size=size).tolist():
            if value not in seen and len(values) < size:
                seen.add(value)
                values.append(value)
    return np.asarray(values, dtype=np.int64)


def _separate_moments(owner: IntArray, moments: MomentArray, step: np.timedelta64) -> MomentArray:
    """Shift a customer's orders that fall on the same moment apart by ``step``.

    Owners below zero (guests) are left alone. Keeping each customer's order times distinct
    makes the sort order of ``true_orders`` unambiguous.
    """
    moments = moments.copy()
    while True:
        repeated = pd.DataFrame({"owner": owner, "moment": moments}).duplicated().to_numpy()
        clash = repeated & (owner >= 0)
        if not clash.any():
            return moments
        moments[clash] += step


def _random_moments(
    rng: np.random.Generator,
    start: str,
    n_days: int,
    size: int,
    *,
    first_minute: int,
    last_minute: int,
    with_seconds: bool,
) -> MomentArray:
    """Uniform moments on ``n_days`` days from ``start`` between two minutes of the day."""
    day = rng.integers(0, n_days, size=size)
    minute = rng.integers(first_minute, last_minute + 1, size=size)
    second = rng.integers(0, 60, size=size) if with_seconds else np.zeros(size, dtype=np.int64)
    offset = (day * 1440 + minute) * 60 + second
    return np.datetime64(start, "s") + offset.astype("timedelta64[s]")


def _ground_truth(
    customer: ObjectArray,
    order_key: ObjectArray,
    moment: MomentArray,
    cents: IntArray,
    reason: ObjectArray,
) -> tuple[pd.DataFrame, pd.Series, dict[str, int]]:
    """True orders, true spend and line counts from the simulated lines.

    Parameters
    ----------
    customer, order_key, moment, cents, reason : arrays of one entry per written data line
        The customer id as the engine should see it, the order the line belongs to, the
        order's moment, the line's money in cents and the line's fate (``"counted_lines"`` or
        one of :data:`EXCLUSION_KEYS`).

    Returns
    -------
    tuple
        ``true_orders``, ``true_spend`` and the counts of ``lines``, each exclusion reason,
        ``counted_lines`` and ``orders``.
    """
    counted = reason == _COUNTED
    lines = pd.DataFrame(
        {
            "customer_id": customer[counted],
            "order_key": order_key[counted],
            "order_date": moment[counted].astype("datetime64[ns]"),
            "cents": cents[counted],
        }
    )
    orders = (
        lines.groupby(["customer_id", "order_key"], sort=False)
        .agg(order_date=("order_date", "min"), cents=("cents", "sum"))
        .reset_index()
        .sort_values(["customer_id", "order_date", "order_key"], kind="stable")
    )
    true_orders = pd.DataFrame(
        {
            "customer_id": orders["customer_id"].astype(str).to_numpy(),
            "order_date": orders["order_date"].astype("datetime64[ns]").to_numpy(),
            "amount": orders["cents"].to_numpy(dtype=np.float64) / 100.0,
        }
    )
    spend_cents = orders.groupby("customer_id", sort=True)["cents"].sum()
    true_spend = pd.Series(
        spend_cents.to_numpy(dtype=np.float64) / 100.0,
        index=pd.Index(spend_cents.index.astype(str), name="customer_id"),
        name="net_spend",
    )
    counts = {"lines": len(reason), _COUNTED: int(counted.sum())}
    counts |= {key: int((reason == key).sum()) for key in EXCLUSION_KEYS}
    counts["orders"] = len(true_orders)
    return true_orders, true_spend, counts


def _make_export(
    name: str,
    files: dict[str, Path],
    truth: tuple[pd.DataFrame, pd.Series, dict[str, int]],
    *,
    cancellation_lines: int,
    orders_without_lines: int,
    spend_columns: tuple[str, ...],
    description: str,
) -> CorpusExport:
    """Complete the counts with the document-level ones and assemble the export."""
    true_orders, true_spend, partial_counts = truth
    counts = partial_counts | {
        "cancellation_lines": cancellation_lines,
        "orders_without_lines": orders_without_lines,
    }
    return CorpusExport(
        name=name,
        files=files,
        true_spend=true_spend,
        true_orders=true_orders,
        counts={key: counts[key] for key in COUNT_KEYS},
        spend_columns=spend_columns,
        description=description,
    )


def _write_csv(frame: pd.DataFrame, path: Path, *, encoding: str, line_end: str) -> None:
    """Write text columns exactly as given (no index, minimal quoting)."""
    frame.to_csv(path, index=False, encoding=encoding, lineterminator=line_end)


# --------------------------------------------------------------------------------------------
# 1. ERP invoice lines
# --------------------------------------------------------------------------------------------

_ERP_START: Final = "2010-12-01"
_ERP_DAYS: Final = 365
_ERP_CUSTOMERS: Final = 150
_ERP_FIRST_INVOICE_NUMBER: Final = 536365
_ERP_COUNTRIES: Final = (
    "United Kingdom", "Germany", "France", "EIRE", "Netherlands", "Spain", "Belgium",
    "Switzerland", "Norway", "Australia",
)  # fmt: skip
_ERP_COUNTRY_WEIGHTS: Final = (0.82, 0.04, 0.035, 0.025, 0.02, 0.015, 0.015, 0.01, 0.01, 0.01)
_ERP_ADJECTIVES: Final = (
    "RED", "BLUE", "PINK", "WHITE", "GREEN", "IVORY", "VINTAGE", "RETROSPOT", "REGENCY", "JUMBO",
    "PAISLEY", "HEART OF WICKER",
)  # fmt: skip
_ERP_ITEMS: Final = (
    "HANGING T-LIGHT HOLDER", "CAKE CASES", "LUNCH BAG", "JAM JAR WITH LID", "CERAMIC MUG",
    "TEA TOWEL", "PARTY BUNTING", "SHOPPER BAG", "ALARM CLOCK", "DOORMAT", "PICNIC BASKET",
    "HOT WATER BOTTLE", "PAPER NAPKINS", "PHOTO FRAME", "PAPER CHAIN KIT",
)  # fmt: skip
_ERP_PRODUCTS: Final = 120
_ERP_PRICE_POINTS_CENTS: Final = (
    29, 39, 42, 55, 65, 85, 125, 145, 165, 210, 250, 295, 375, 425, 495, 595, 795, 1275,
)  # fmt: skip
_ERP_TIERED_PRODUCTS: Final = 12
_ERP_TIER_DISCOUNT: Final = 0.85
_ERP_QUANTITIES: Final = (1, 2, 3, 4, 6, 8, 10, 12, 24)
_ERP_QUANTITY_WEIGHTS: Final = (0.18, 0.16, 0.08, 0.10, 0.14, 0.05, 0.05, 0.16, 0.08)
_ERP_WHOLESALE_QUANTITIES: Final = (100, 144, 200, 288, 480)
_ERP_WHOLESALE_SHARE: Final = 0.02
_ERP_MEAN_EXTRA_INVOICES: Final = 0.8
# One guest invoice per four customer invoices makes about a fifth of all lines guest lines.
_ERP_GUEST_INVOICES_PER_CUSTOMER_INVOICE: Final = 0.25
_ERP_MEAN_LINES_PER_INVOICE: Final = 7.0
_ERP_MAXIMUM_LINES_PER_INVOICE: Final = 30
_ERP_FREE_LINES: Final = 6
_ERP_REPEATED_LINES: Final = 6
_ERP_CANCELLATION_SHARE: Final = 0.02
_ERP_LATEST_CANCELLATION_DAYS: Final = 45
# Refunds of sales made before the export starts are dated in its first two months.
_ERP_ORPHAN_REFUND_DAYS: Final = 60


def _erp_catalogue(rng: np.random.Generator) -> pd.DataFrame:
    """Stock codes, descriptions, unit prices and the wholesale price tiers of a few products."""
    bases = np.concatenate([np.arange(20600, 23600), np.arange(84000, 85250)])
    codes = rng.choice(bases, size=_ERP_PRODUCTS, replace=False).astype(str).astype(object)
    suffixed = rng.random(_ERP_PRODUCTS) < 0.2
    codes[suffixed] = codes[suffixed] + rng.choice(list("ABCDE"), size=int(suffixed.sum()))
    pairs = rng.choice(len(_ERP_ADJECTIVES) * len(_ERP_ITEMS), size=_ERP_PRODUCTS, replace=False)
    descriptions = [
        f"{_ERP_ADJECTIVES[pair // len(_ERP_ITEMS)]} {_ERP_ITEMS[pair % len(_ERP_ITEMS)]}"
        for pair in pairs.tolist()
    ]
    price = rng.choice(np.asarray(_ERP_PRICE_POINTS_CENTS, dtype=np.int64), size=_ERP_PRODUCTS)
    tier_threshold = np.zeros(_ERP_PRODUCTS, dtype=np.int64)
    eligible = np.flatnonzero(price >= 85)
    tiered = rng.choice(eligible, size=min(_ERP_TIERED_PRODUCTS, eligible.size), replace=False)
    tier_threshold[tiered] = rng.choice([12, 24], size=tiered.size)
    tier_price = (np.round(price * _ERP_TIER_DISCOUNT / 5) * 5).astype(np.int64)
    # Popularity falls with a random rank, as in a real assortment with a few best sellers.
    rank = rng.permutation(_ERP_PRODUCTS)
    popularity = 1.0 / (rank + 5.0) ** 0.9
    return pd.DataFrame(
        {
            "stock_code": codes,
            "description": descriptions,
            "price": price,
            "tier_threshold": tier_threshold,
            "tier_price": np.where(tier_threshold > 0, tier_price, price),
            "popularity": popularity / popularity.sum(),
        }
    )


def _erp_sale_lines(
    rng: np.random.Generator, catalogue: pd.DataFrame, n_invoices: int, is_guest: BoolArray
) -> pd.DataFrame:
    """Lines of the sale invoices: product, quantity and tiered unit price."""
    n_lines = np.minimum(
        _ERP_MAXIMUM_LINES_PER_INVOICE, rng.geometric(1.0 / _ERP_MEAN_LINES_PER_INVOICE, n_invoices)
    )
    invoice = np.repeat(np.arange(n_invoices), n_lines)
    product = rng.choice(_ERP_PRODUCTS, size=invoice.size, p=catalogue["popularity"].to_numpy())
    quantity = rng.choice(np.asarray(_ERP_QUANTITIES), size=invoice.size, p=_ERP_QUANTITY_WEIGHTS)
    wholesale = rng.random(invoice.size) < _ERP_WHOLESALE_SHARE
    quantity[wholesale] = rng.choice(_ERP_WHOLESALE_QUANTITIES, size=int(wholesale.sum()))
    threshold = catalogue["tier_threshold"].to_numpy()[product]
    in_tier = (threshold > 0) & (quantity >= threshold)
    price = np.where(
        in_tier,
        catalogue["tier_price"].to_numpy()[product],
        catalogue["price"].to_numpy()[product],
    )
    # A few free lines (samples, replacements) sit next to priced lines of the same invoice, so
    # no invoice is worth nothing.
    multi_line = np.flatnonzero(n_lines >= 2)
    free_invoices = rng.choice(multi_line, size=_ERP_FREE_LINES, replace=False)
    first_line = np.concatenate([[0], np.cumsum(n_lines)[:-1]])
    price[first_line[free_invoices] + 1] = 0
    # A few priced lines of customer invoices appear twice verbatim, as in real exports.
    repeatable = np.flatnonzero(~is_guest & (n_lines < _ERP_MAXIMUM_LINES_PER_INVOICE))
    repeatable = np.setdiff1d(repeatable, free_invoices)
    repeated_invoices = rng.choice(repeatable, size=_ERP_REPEATED_LINES, replace=False)
    repeated_lines = first_line[repeated_invoices] + rng.integers(0, n_lines[repeated_invoices])
    keep = np.sort(np.concatenate([np.arange(invoice.size), repeated_lines]), kind="stable")
    return pd.DataFrame(
        {
            "invoice": invoice[keep],
            "product": product[keep],
            "quantity": quantity[keep],
            "price": price[keep],
        }
    )


def _erp_cancellations(
    rng: np.random.Generator,
    catalogue: pd.DataFrame,
    sales: pd.DataFrame,
    invoice_owner: IntArray,
    invoice_day: IntArray,
) -> tuple[pd.DataFrame, IntArray, IntArray]:
    """Cancellation documents: their lines, owners and days.

    Most cancel part of an earlier sale invoice of the same customer; the rest refund products
    that the customer never bought within the file (sales from before the export's start).
    """
    n_documents = max(4, round(_ERP_CANCELLATION_SHARE * len(sales) / 2))
    n_orphans = max(2, n_documents // 6)
    n_matched = n_documents - n_orphans
    candidates = np.flatnonzero(
        (invoice_owner >= 0) & (invoice_day < _ERP_DAYS - _ERP_LATEST_CANCELLATION_DAYS)
    )
    cancelled = np.sort(rng.choice(candidates, size=n_matched, replace=False))
    document_lines: list[pd.DataFrame] = []
    owners: list[int] = []
    days: list[int] = []
    for document, invoice in enumerate(cancelled.tolist()):
        priced = sales[(sales["invoice"] == invoice) & (sales["price"] > 0)]
        n_cancelled = int(rng.integers(1, min(3, len(priced)) + 1))
        chosen = priced.iloc[np.sort(rng.choice(len(priced), size=n_cancelled, replace=False))]
        returned = rng.integers(1, chosen["quantity"].to_numpy() + 1)
        document_lines.append(
            pd.DataFrame(
                {
                    "document": document,
                    "product": chosen["product"].to_numpy(),
                    "quantity": -returned,
                    "price": chosen["price"].to_numpy(),
                }
            )
        )
        owners.append(int(invoice_owner[invoice]))
        days.append(int(invoice_day[invoice] + rng.integers(1, _ERP_LATEST_CANCELLATION_DAYS + 1)))
    owner_of_line = invoice_owner[sales["invoice"].to_numpy()]
    for document in range(n_matched, n_documents):
        owner = int(rng.choice(np.unique(invoice_owner[invoice_owner >= 0])))
        bought = np.unique(sales["product"].to_numpy()[owner_of_line == owner])
        never_bought = np.setdiff1d(np.arange(_ERP_PRODUCTS), bought)
        n_refunded = int(rng.integers(1, 3))
        product = np.sort(rng.choice(never_bought, size=n_refunded, replace=False))
        document_lines.append(
            pd.DataFrame(
                {
                    "document": document,
                    "product": product,
                    "quantity": -rng.integers(1, 7, size=n_refunded),
                    "price": catalogue["price"].to_numpy()[product],
                }
            )
        )
        owners.append(owner)
        days.append(int(rng.integers(0, _ERP_ORPHAN_REFUND_DAYS)))
    return (
        pd.concat(document_lines, ignore_index=True),
        np.asarray(owners, dtype=np.int64),
        np.asarray(days, dtype=np.int64),
    )


def _erp_invoice_date_text(moment: MomentArray) -> list[str]:
    """``12/1/2010 8:26``: month/day/year without leading zeros, hour:minute, no seconds."""
    stamps = pd.DatetimeIndex(moment)
    return [
        f"{month}/{day}/{year} {hour}:{minute:02d}"
        for month, day, year, hour, minute in zip(
            stamps.month, stamps.day, stamps.year, stamps.hour, stamps.minute, strict=True
        )
    ]


def _erp_invoice_owners(rng: np.random.Generator) -> IntArray:
    """Owner of each sale invoice: every customer's invoices first, then guest invoices (-1)."""
    invoices_per_customer = 1 + rng.poisson(_ERP_MEAN_EXTRA_INVOICES, _ERP_CUSTOMERS)
    customer_invoice_owner = np.repeat(np.arange(_ERP_CUSTOMERS), invoices_per_customer)
    n_guest_invoices = round(_ERP_GUEST_INVOICES_PER_CUSTOMER_INVOICE * customer_invoice_owner.size)
    return np.concatenate([customer_invoice_owner, np.full(n_guest_invoices, -1)])


@dataclass(frozen=True, slots=True)
class _ErpDocuments:
    """Sale invoices, then cancellation documents: one entry per document."""

    owner: IntArray
    moment: MomentArray
    number: IntArray
    name: ObjectArray
    country: TextArray
    is_cancellation: BoolArray


def _erp_documents(
    rng: np.random.Generator,
    customer_country: TextArray,
    owner: IntArray,
    day: IntArray,
    n_invoices: int,
) -> _ErpDocuments:
    """Times, numbers, names and countries of the documents (the first ``n_invoices`` are sales).

    Numbers follow the time order; cancellations are named ``C`` + number. Guest documents get
    a country of their own.
    """
    is_cancellation = np.arange(owner.size) >= n_invoices
    minute = rng.integers(8 * 60, 20 * 60, owner.size)
    moment = np.datetime64(_ERP_START, "m") + (day * 1440 + minute).astype("timedelta64[m]")
    moment = _separate_moments(owner, moment, np.timedelta64(1, "m"))
    time_order = np.lexsort((np.arange(moment.size), moment))
    number = np.empty(moment.size, dtype=np.int64)
    number[time_order] = _ERP_FIRST_INVOICE_NUMBER + np.arange(moment.size)
    guest_country = rng.choice(_ERP_COUNTRIES, size=owner.size, p=_ERP_COUNTRY_WEIGHTS)
    return _ErpDocuments(
        owner=owner,
        moment=moment,
        number=number,
        name=np.where(is_cancellation, "C", "").astype(object) + number.astype(str),
        country=np.where(owner >= 0, customer_country[np.maximum(owner, 0)], guest_country),
        is_cancellation=is_cancellation,
    )


def _erp_lines_in_number_order(
    sales: pd.DataFrame, cancellation_lines: pd.DataFrame, number: IntArray, n_invoices: int
) -> pd.DataFrame:
    """Sale and cancellation lines with their ``document`` index, ordered by document number."""
    lines = pd.concat(
        [
            sales.rename(columns={"invoice": "document"}),
            cancellation_lines.assign(document=cancellation_lines["document"] + n_invoices),
        ],
        ignore_index=True,
    )
    lines["position"] = np.arange(len(lines))
    lines["number"] = number[lines["document"].to_numpy()]
    return lines.sort_values(["number", "position"], kind="stable").reset_index(drop=True)


def _build_erp_invoice_lines(directory: Path, rng: np.random.Generator) -> CorpusExport:
    """Simulate a year of invoices of 150 customers and guests; write the ERP line export."""
    customer_numbers = np.sort(rng.choice(np.arange(12346, 18288), _ERP_CUSTOMERS, replace=False))
    customer_country = rng.choice(_ERP_COUNTRIES, size=_ERP_CUSTOMERS, p=_ERP_COUNTRY_WEIGHTS)
    catalogue = _erp_catalogue(rng)

    invoice_owner = _erp_invoice_owners(rng)
    n_invoices = invoice_owner.size
    invoice_day = rng.integers(0, _ERP_DAYS, n_invoices)
    sales = _erp_sale_lines(rng, catalogue, n_invoices, invoice_owner < 0)
    cancellation_lines, cancellation_owner, cancellation_day = _erp_cancellations(
        rng, catalogue, sales, invoice_owner, invoice_day
    )

    # Documents: sale invoices first, then cancellations; numbers follow the time order.
    documents = _erp_documents(
        rng,
        customer_country,
        np.concatenate([invoice_owner, cancellation_owner]),
        np.concatenate([invoice_day, cancellation_day]),
        n_invoices,
    )
    lines = _erp_lines_in_number_order(sales, cancellation_lines, documents.number, n_invoices)
    document = lines["document"].to_numpy()
    owner = documents.owner[document]
    product = lines["product"].to_numpy()
    quantity = lines["quantity"].to_numpy()
    price = lines["price"].to_numpy()

    known = owner >= 0
    customer_text = np.where(known, customer_numbers[np.maximum(owner, 0)].astype(str), "")
    written = pd.DataFrame(
        {
            "Invoice": documents.name[document],
            "StockCode": catalogue["stock_code"].to_numpy()[product],
            "Description": catalogue["description"].to_numpy()[product],
            "Quantity": quantity.astype(str),
            "InvoiceDate": _erp_invoice_date_text(documents.moment[document]),
            "Price": _money_text(price),
            "Customer ID": np.where(known, np.char.add(customer_text, ".0"), ""),
            "Country": documents.country[document],
        }
    )
    path = directory / "erp_invoice_lines.csv"
    _write_csv(written, path, encoding="utf-8", line_end="\n")

    reason = np.where(known, _COUNTED, "no_customer_id").astype(object)
    truth = _ground_truth(
        customer_text.astype(object),
        documents.name[document].astype(object),
        documents.moment[document],
        quantity * price,
        reason,
    )
    return _make_export(
        "erp_invoice_lines",
        {"transactions": path},
        truth,
        cancellation_lines=int(documents.is_cancellation[document].sum()),
        orders_without_lines=0,
        spend_columns=("Quantity", "Price"),
        description=(
            "UK online-retail ERP invoice lines (UTF-8 CSV). Money is Quantity × Price; there is "
            "no line-total column. Customer ID is float text ('13085.0') and empty on guest "
            "invoices (about 20% of lines). Invoices starting with 'C' are cancellations with "
            "negative quantities, a few refunding sales from before the file's start. A few "
            "lines have Price 0.00 and a few lines repeat verbatim within an invoice (both "
            "count). InvoiceDate is month/day/year hour:minute, e.g. '12/1/2010 8:26'."
        ),
    )


# --------------------------------------------------------------------------------------------
# 2. Grocery loyalty-card line items
# --------------------------------------------------------------------------------------------

_GROCERY_START: Final = "2023-01-01"
_GROCERY_DAYS: Final = 365
_GROCERY_CUSTOMERS: Final = 170
_GROCERY_PRODUCTS: Final = 150
# (category, cheapest and dearest shelf price in cents)
_GROCERY_CATEGORIES: Final = (
    ("DAIRY", 59, 349),
    ("PRODUCE", 49, 399),
    ("BAKERY", 89, 399),
    ("MEAT", 249, 999),
    ("FROZEN", 149, 599),
    ("BEVERAGES", 69, 699),
    ("SNACKS", 79, 349),
    ("HOUSEHOLD", 99, 899),
    ("DELI", 149, 699),
    ("PANTRY", 49, 499),
)
_GROCERY_MAXIMUM_EXTRA_VISITS: Final = 3
_GROCERY_EXTRA_VISIT_PROBABILITY: Final = 0.1
_GROCERY_MINIMUM_BASKET: Final = 10
_GROCERY_MAXIMUM_BASKET: Final = 30
_GROCERY_BASKET_GROWTH_PROBABILITY: Final = 0.45
_GROCERY_ITEM_COUNTS: Final = (1, 2, 3, 4, 5, 6)
_GROCERY_ITEM_COUNT_WEIGHTS: Final = (0.72, 0.15, 0.06, 0.04, 0.02, 0.01)
_GROCERY_COST_SHARE_RANGE: Final = (0.60, 0.75)
_GROCERY_RETURN_SHARE: Final = 0.03
# Only cheap items are returned, so a visit with a return (at least nine bought items at 0.49
# or more) always stays positive.
_GROCERY_MAXIMUM_RETURN_PRICE_CENTS: Final = 300


def _grocery_catalogue(rng: np.random.Generator) -> pd.DataFrame:
    """Product ids, categories, shelf prices (cents) and popularity of the grocery range."""
    product_id = np.sort(_distinct_integers(rng, 820_000, 1_300_000, _GROCERY_PRODUCTS))
    category = rng.integers(0, len(_GROCERY_CATEGORIES), _GROCERY_PRODUCTS)
    cheapest = np.asarray([entry[1] for entry in _GROCERY_CATEGORIES])[category]
    dearest = np.asarray([entry[2] for entry in _GROCERY_CATEGORIES])[category]
    raw_price = rng.integers(cheapest, dearest + 1)
    # Most shelf prices end in 9, as in a real shop; floors keep them within the category range.
    price = np.where(rng.random(_GROCERY_PRODUCTS) < 0.8, raw_price // 10 * 10 + 9, raw_price)
    price = np.clip(price, cheapest, dearest)
    rank = rng.permutation(_GROCERY_PRODUCTS)
    return pd.DataFrame(
        {
            "product_id": product_id,
            "category": np.asarray([entry[0] for entry in _GROCERY_CATEGORIES])[category],
            "price": price,
            "popularity": 1.0 / (rank + 3.0) ** 0.7,
        }
    )


def _grocery_visits(rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Owner and day of each visit (basket): one to four distinct days per customer."""
    visits = 1 + rng.binomial(
        _GROCERY_MAXIMUM_EXTRA_VISITS, _GROCERY_EXTRA_VISIT_PROBABILITY, _GROCERY_CUSTOMERS
    )
    # Distinct visit days per customer: the first few columns of a random permutation per row.
    day_choice = rng.random((_GROCERY_CUSTOMERS, _GROCERY_DAYS)).argsort(axis=1)
    taken = np.arange(day_choice.shape[1]) < visits[:, None]
    return np.repeat(np.arange(_GROCERY_CUSTOMERS), visits), day_choice[taken]


def _grocery_returns(
    rng: np.random.Generator,
    catalogue: pd.DataFrame,
    product: IntArray,
    items: IntArray,
    size: IntArray,
    basket: IntArray,
) -> tuple[IntArray, IntArray, int]:
    """End a few visits with one returned item (a cheap product, one unit) instead of a purchase.

    Returns the lines' products and item counts with the returns in place, and the number of
    visits with a return.
    """
    product = product.copy()
    items = items.copy()
    n_baskets = size.size
    n_returns = max(3, round(_GROCERY_RETURN_SHARE * n_baskets))
    returning = np.sort(rng.choice(n_baskets, size=n_returns, replace=False))
    last_line = np.cumsum(size)[returning] - 1
    cheap = np.flatnonzero(catalogue["price"].to_numpy() <= _GROCERY_MAXIMUM_RETURN_PRICE_CENTS)
    for line in last_line.tolist():
        others = set(product[line - size[basket[line]] + 1 : line].tolist())
        product[line] = int(rng.choice([code for code in cheap.tolist() if code not in others]))
    items[last_line] = -1
    return product, items, n_returns


def _build_grocery_line_items(directory: Path, rng: np.random.Generator) -> CorpusExport:
    """Simulate loyalty-card visits of 170 households; write the grocery line-item log."""
    household = _distinct_integers(rng, 100, 2600, _GROCERY_CUSTOMERS)
    catalogue = _grocery_catalogue(rng)

    basket_owner, basket_day = _grocery_visits(rng)
    n_baskets = basket_owner.size

    size = np.minimum(
        _GROCERY_MAXIMUM_BASKET,
        _GROCERY_MINIMUM_BASKET - 1 + rng.geometric(_GROCERY_BASKET_GROWTH_PROBABILITY, n_baskets),
    )
    # Distinct products per basket, weighted by popularity (Gumbel top-k).
    keys = np.log(catalogue["popularity"].to_numpy())[None, :] + rng.gumbel(
        size=(n_baskets, _GROCERY_PRODUCTS)
    )
    ranked = np.argsort(-keys, axis=1)
    in_basket = np.arange(_GROCERY_PRODUCTS) < size[:, None]
    product = ranked[in_basket]
    basket = np.repeat(np.arange(n_baskets), size)
    items = rng.choice(
        np.asarray(_GROCERY_ITEM_COUNTS), size=product.size, p=_GROCERY_ITEM_COUNT_WEIGHTS
    )
    product, items, n_returns = _grocery_returns(rng, catalogue, product, items, size, basket)

    sales_cents = items * catalogue["price"].to_numpy()[product]
    cost_share = rng.uniform(*_GROCERY_COST_SHARE_RANGE, size=product.size)
    cost_cents = np.round(sales_cents * cost_share).astype(np.int64)

    day = basket_day[basket]
    order = np.lexsort((np.arange(product.size), household[basket_owner[basket]], day))
    moment = np.datetime64(_GROCERY_START, "D") + day[order].astype("timedelta64[D]")
    owner_text = household[basket_owner[basket[order]]].astype(str)
    written = pd.DataFrame(
        {
            "CUSTOMER_ID": owner_text,
            "DATE": pd.DatetimeIndex(moment).strftime("%d/%m/%Y"),
            "PRODUCT_ID": catalogue["product_id"].to_numpy()[product[order]].astype(str),
            "CATEGORY": catalogue["category"].to_numpy()[product[order]],
            "AMOUNT": items[order].astype(str),
            "COST": _money_text(cost_cents[order]),
            "SALES_VALUE": _money_text(sales_cents[order]),
        }
    )
    path = directory / "grocery_line_items.csv"
    _write_csv(written, path, encoding="utf-8", line_end="\n")

    truth = _ground_truth(
        owner_text.astype(object),
        day[order].astype(str).astype(object),
        moment,
        sales_cents[order],
        np.full(product.size, _COUNTED, dtype=object),
    )
    return _make_export(
        "grocery_line_items",
        {"transactions": path},
        truth,
        cancellation_lines=0,
        orders_without_lines=0,
        spend_columns=("SALES_VALUE",),
        description=(
            "Grocery loyalty-card line items (UTF-8 CSV) without an order id: a visit is all "
            "lines of a customer on one day. AMOUNT is the number of items (1-6, -1 for a "
            "returned item), COST the shop's cost and SALES_VALUE the money paid. DATE is "
            f"dd/mm/yyyy without a time. {n_returns} visits contain one returned item as a "
            "negative line."
        ),
    )


# --------------------------------------------------------------------------------------------
# 3. Shop platform: orders and order lines
# --------------------------------------------------------------------------------------------

_SHOP_START: Final = "2023-01-01"
_SHOP_DAYS: Final = 365
_SHOP_CUSTOMERS: Final = 140
_SHOP_FIRST_ORDER_NUMBER: Final = 1001
_SHOP_MEAN_EXTRA_ORDERS: Final = 1.4
_SHOP_POINT_OF_SALE_ORDERS: Final = 6
_SHOP_DELETED_ORDERS: Final = 4
_SHOP_EMPTY_ORDERS: Final = 4
_SHOP_FIRST_NAMES: Final = (
    "anna", "ben", "clara", "david", "emma", "felix", "greta", "hannah", "jonas", "lea",
    "lukas", "marie", "noah", "olivia", "paul", "sophie", "tim", "julia", "max", "laura",
    "elias", "mia", "leon", "nina", "oskar",
)  # fmt: skip
_SHOP_LAST_NAMES: Final = (
    "schmidt", "mueller", "weber", "fischer", "wagner", "becker", "hoffmann", "koch",
    "richter", "klein", "wolf", "neumann", "schwarz", "braun", "zimmermann", "krueger",
    "hartmann", "lange", "werner", "krause", "meier", "lehmann", "schulz", "dubois", "rossi",
)  # fmt: skip
_SHOP_DOMAINS: Final = ("example.com", "example.org", "example.net", "mail.example")
# (sku stem, product, unit price in cents); every product comes in the five colours below.
_SHOP_PRODUCTS: Final = (
    ("MB", "Merino Beanie", 2490),
    ("LS", "Linen Shirt", 6990),
    ("CT", "Canvas Tote", 1990),
    ("WS", "Wool Scarf", 3990),
    ("LB", "Leather Belt", 4490),
    ("RJ", "Rain Jacket", 12900),
    ("CS", "Cotton Socks (3-pack)", 1490),
    ("DC", "Denim Cap", 2290),
)
_SHOP_COLOURS: Final = (
    ("BLK", "Black"),
    ("NVY", "Navy"),
    ("OLV", "Olive"),
    ("SND", "Sand"),
    ("RST", "Rust"),
)
_SHOP_STATUSES: Final = ("paid", "partially_refunded", "refunded", "voided", "pending")
_SHOP_STATUS_WEIGHTS: Final = (0.78, 0.05, 0.07, 0.04, 0.06)
_SHOP_STATUS_REASON: Final = {
    "paid": _COUNTED,
    "partially_refunded": _COUNTED,
    "refunded": "status_refunded",
    "voided": "status_cancelled",
    "pending": "status_unpaid",
}
_SHOP_QUANTITIES: Final = (1, 2, 3)
_SHOP_QUANTITY_WEIGHTS: Final = (0.82, 0.14, 0.04)
_SHOP_MAXIMUM_LINES: Final = 6
_SHOP_SHIPPING_DAYS: Final = 3
_SHOP_LINE_STOP_PROBABILITY: Final = 0.55
# Central European summer time in 2023 (the hours 02:00-03:00 never occur: orders start at 07).
_SHOP_SUMMER_TIME: Final = ("2023-03-26", "2023-10-29")


def _shop_discount(rng: np.random.Generator, gross: IntArray) -> IntArray:
    """Money off a line: usually nothing, else 10/15/20% or a 5.00 voucher (never above gross)."""
    kind = rng.choice(3, size=gross.size, p=(0.65, 0.20, 0.15))
    share = rng.choice(np.asarray([0.10, 0.15, 0.20]), size=gross.size)
    percent = np.round(gross * share).astype(np.int64)
    voucher = np.minimum(500, gross)
    return np.select([kind == 1, kind == 2], [percent, voucher], 0).astype(np.int64)


def _shop_emails(rng: np.random.Generator) -> ObjectArray:
    """Distinct ``first.last@domain`` addresses of the shop's customers."""
    pairs = rng.choice(
        len(_SHOP_FIRST_NAMES) * len(_SHOP_LAST_NAMES), _SHOP_CUSTOMERS, replace=False
    )
    domains = rng.choice(_SHOP_DOMAINS, size=_SHOP_CUSTOMERS)
    return np.asarray(
        [
            f"{_SHOP_FIRST_NAMES[pair // len(_SHOP_LAST_NAMES)]}."
            f"{_SHOP_LAST_NAMES[pair % len(_SHOP_LAST_NAMES)]}@{domain}"
            for pair, domain in zip(pairs.tolist(), domains.tolist(), strict=True)
        ],
        dtype=object,
    )


@dataclass(frozen=True, slots=True)
class _ShopOrders:
    """The simulated orders, one entry per order slot.

    ``owner`` is the customer's index, -1 for a point-of-sale order without an email and -2
    for a deleted order whose lines survive in the lines file. ``time_order`` lists the slots
    oldest first.
    """

    owner: IntArray
    moment: MomentArray
    time_order: IntArray
    name: ObjectArray
    status: ObjectArray
    n_lines: IntArray


def _shop_orders(rng: np.random.Generator) -> _ShopOrders:
    """Order slots with their times, names (numbered in time order), statuses and line counts."""
    # Order slots: customer orders, point-of-sale orders without an email (owner -1) and
    # deleted orders whose lines survive in the lines file (owner -2).
    per_customer = 1 + rng.poisson(_SHOP_MEAN_EXTRA_ORDERS, _SHOP_CUSTOMERS)
    owner = np.concatenate(
        [
            np.repeat(np.arange(_SHOP_CUSTOMERS), per_customer),
            np.full(_SHOP_POINT_OF_SALE_ORDERS, -1),
            np.full(_SHOP_DELETED_ORDERS, -2),
        ]
    )
    moment = _random_moments(
        rng,
        _SHOP_START,
        _SHOP_DAYS,
        owner.size,
        first_minute=7 * 60,
        last_minute=23 * 60 - 1,
        with_seconds=True,
    )
    moment = _separate_moments(owner, moment, np.timedelta64(1, "s"))
    time_order = np.lexsort((np.arange(moment.size), moment))
    number = np.empty(moment.size, dtype=np.int64)
    number[time_order] = _SHOP_FIRST_ORDER_NUMBER + np.arange(moment.size)
    order_name = np.char.add("#", number.astype(str)).astype(object)

    status = rng.choice(_SHOP_STATUSES, size=owner.size, p=_SHOP_STATUS_WEIGHTS).astype(object)
    status[owner == -1] = "paid"
    n_lines = np.minimum(
        _SHOP_MAXIMUM_LINES, rng.geometric(_SHOP_LINE_STOP_PROBABILITY, owner.size)
    )
    empty = rng.choice(np.flatnonzero(owner >= 0), size=_SHOP_EMPTY_ORDERS, replace=False)
    n_lines[empty] = 0
    return _ShopOrders(owner, moment, time_order, order_name, status, n_lines)


@dataclass(frozen=True, slots=True)
class _ShopLines:
    """The order lines: their order slot, product, colour and money in cents."""

    slot: IntArray
    product: IntArray
    colour: IntArray
    price: IntArray
    quantity: IntArray
    discount: IntArray


def _shop_lines(rng: np.random.Generator, newest_first: IntArray, n_lines: IntArray) -> _ShopLines:
    """The lines of the orders in ``newest_first`` order: products, quantities and discounts."""
    slot = np.repeat(newest_first, n_lines[newest_first])
    sku = rng.integers(0, len(_SHOP_PRODUCTS) * len(_SHOP_COLOURS), slot.size)
    product = sku // len(_SHOP_COLOURS)
    colour = sku % len(_SHOP_COLOURS)
    price = np.asarray([entry[2] for entry in _SHOP_PRODUCTS], dtype=np.int64)[product]
    quantity = rng.choice(np.asarray(_SHOP_QUANTITIES), size=slot.size, p=_SHOP_QUANTITY_WEIGHTS)
    discount = _shop_discount(rng, quantity * price)
    return _ShopLines(slot, product, colour, price, quantity, discount)


def _shop_fulfilment(rng: np.random.Generator, orders: _ShopOrders) -> TextArray:
    """``Fulfillment Status`` per order.

    Paid and partially refunded orders are fulfilled once shipped (those of the last days are
    not shipped yet), refunded ones either way at random, the others are unfulfilled.
    """
    window_end = np.datetime64(_SHOP_START, "s") + np.timedelta64(_SHOP_DAYS, "D")
    shipped = orders.moment < window_end - np.timedelta64(_SHOP_SHIPPING_DAYS, "D")
    return np.where(
        np.isin(orders.status, ["paid", "partially_refunded"]) & shipped,
        "fulfilled",
        np.where(
            orders.status == "refunded",
            rng.choice(["fulfilled", "unfulfilled"], orders.owner.size),
            "unfulfilled",
        ),
    )


def _write_shop_orders(
    path: Path, orders: _ShopOrders, emails: ObjectArray, fulfilment: TextArray
) -> None:
    """Write the orders file: one row per order that was not deleted, newest first."""
    newest_first = orders.time_order[::-1]
    listed = newest_first[orders.owner[newest_first] != -2]
    summer = (orders.moment >= np.datetime64(_SHOP_SUMMER_TIME[0])) & (
        orders.moment < np.datetime64(_SHOP_SUMMER_TIME[1])
    )
    offset = np.where(summer, "+0200", "+0100")
    created_at = (
        pd.DatetimeIndex(orders.moment).strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    )
    owner = orders.owner[listed]
    written = pd.DataFrame(
        {
            "Name": orders.name[listed],
            "Email": np.where(owner >= 0, emails[np.maximum(owner, 0)], ""),
            "Financial Status": orders.status[listed],
            "Fulfillment Status": fulfilment[listed],
            "Created at": created_at[listed] + " " + offset[listed],
            "Currency": "EUR",
        }
    )
    _write_csv(written, path, encoding="utf-8", line_end="\n")


def _write_shop_lines(path: Path, order_name: ObjectArray, lines: _ShopLines) -> None:
    """Write the order-lines file, joined to the orders by ``Name``."""
    written = pd.DataFrame(
        {
            "Name": order_name[lines.slot],
            "Lineitem sku": [
                f"{_SHOP_PRODUCTS[p][0]}-{_SHOP_COLOURS[c][0]}"
                for p, c in zip(lines.product.tolist(), lines.colour.tolist(), strict=True)
            ],
            "Lineitem name": [
                f"{_SHOP_PRODUCTS[p][1]} - {_SHOP_COLOURS[c][1]}"
                for p, c in zip(lines.product.tolist(), lines.colour.tolist(), strict=True)
            ],
            "Lineitem quantity": lines.quantity.astype(str),
            "Lineitem price": _money_text(lines.price),
            "Lineitem discount": _money_text(lines.discount),
        }
    )
    _write_csv(written, path, encoding="utf-8", line_end="\n")


def _build_shop_orders(directory: Path, rng: np.random.Generator) -> CorpusExport:
    """Simulate a year of shop orders; write the orders file and the order-lines file."""
    emails = _shop_emails(rng)
    orders = _shop_orders(rng)
    # Both files list the newest order first, as the platform does.
    lines = _shop_lines(rng, orders.time_order[::-1], orders.n_lines)
    fulfilment = _shop_fulfilment(rng, orders)
    orders_path = directory / "shop_orders.csv"
    lines_path = directory / "shop_order_lines.csv"
    _write_shop_orders(orders_path, orders, emails, fulfilment)
    _write_shop_lines(lines_path, orders.name, lines)

    line_owner = orders.owner[lines.slot]
    reason = np.asarray(
        [_SHOP_STATUS_REASON[value] for value in orders.status[lines.slot]], dtype=object
    )
    reason[line_owner == -1] = "no_customer_id"
    reason[line_owner == -2] = "unknown_order"
    truth = _ground_truth(
        np.where(line_owner >= 0, emails[np.maximum(line_owner, 0)], "").astype(object),
        orders.name[lines.slot],
        orders.moment[lines.slot],
        lines.quantity * lines.price - lines.discount,
        reason,
    )
    return _make_export(
        "shop_orders",
        {"transactions": orders_path, "order_lines": lines_path},
        truth,
        cancellation_lines=0,
        orders_without_lines=_SHOP_EMPTY_ORDERS,
        spend_columns=("Lineitem quantity", "Lineitem price", "Lineitem discount"),
        description=(
            "Shop platform export in two UTF-8 CSVs, newest order first: shop_orders.csv (Name, "
            "Email = customer, Financial Status, Created at with a UTC offset, Currency EUR) and "
            "shop_order_lines.csv joined by Name. Money is quantity × price − discount of paid "
            "and partially_refunded orders (in full); refunded, voided and pending orders do "
            f"not count. {_SHOP_POINT_OF_SALE_ORDERS} paid point-of-sale orders have no Email, "
            f"{_SHOP_DELETED_ORDERS} deleted orders left lines without an order row and "
            f"{_SHOP_EMPTY_ORDERS} orders have no lines."
        ),
    )


# --------------------------------------------------------------------------------------------
# 4. Chinese marketplace seller backend (GB18030)
# --------------------------------------------------------------------------------------------

_CN_START: Final = "2024-01-01"
_CN_DAYS: Final = 182
_CN_BUYERS: Final = 200
_CN_MEAN_EXTRA_ORDERS: Final = 1.0
_CN_GUEST_ORDERS: Final = 5
_CN_GUEST: Final = "游客"
_CN_NICKNAME_ADJECTIVES: Final = (
    "快乐的", "安静的", "勇敢的", "可爱的", "温柔的", "淘气的", "聪明的", "开心的",
)  # fmt: skip
_CN_NICKNAME_NOUNS: Final = (
    "小猫", "小狗", "兔子", "熊猫", "小鱼", "蜗牛", "松鼠", "刺猬", "企鹅", "海豚",
)  # fmt: skip
# (product name, unit price in cents). 𠮷 lies outside GBK: only GB18030 can encode it.
_CN_PRODUCTS: Final = (
    ("纯棉短袖T恤 男款", 5900),
    ("加厚保温杯 500ml", 8900),
    ("无线蓝牙耳机", 19900),
    ("儿童绘本套装（10册）", 12800),
    ("手机壳 透明防摔", 1990),
    ("LED台灯 护眼", 15900),
    ("中秋月饼礼盒", 16800),
    ("有机绿茶 250g", 6800),
    ("真丝枕套 一对", 23900),
    ("瑜伽垫 加厚", 7900),
    ("不锈钢炒锅 32cm", 29900),
    ("𠮷祥如意红包 20个装", 990),
    ("云南普洱茶饼 357g", 25800),
    ("运动袜 5双装", 2990),
    ("羊毛围巾 格纹", 13900),
    ("电动牙刷", 26900),
    ("抽纸 24包整箱", 4590),
    ("办公椅 人体工学", 59900),
    ("宠物猫粮 2kg", 8900),
    ("洗衣凝珠 52颗", 3990),
)
_CN_STATUSES: Final = ("交易成功", "已发货", "交易关闭", "等待买家付款", "退款成功")
# 已发货 (shipped) is not drawn: it is what a paid order of the last days shows.
_CN_STATUS_WEIGHTS: Final = (0.80, 0.0, 0.08, 0.06, 0.06)
_CN_SHIPPING_DAYS: Final = 10
_CN_STATUS_REASON: Final = {
    "交易成功": _COUNTED,
    "已发货": _COUNTED,
    "交易关闭": "status_cancelled",
    "等待买家付款": "status_unpaid",
    "退款成功": "status_refunded",
}
_CN_QUANTITIES: Final = (1, 2, 3)
_CN_QUANTITY_WEIGHTS: Final = (0.75, 0.18, 0.07)
_CN_MAXIMUM_LINES: Final = 4
_CN_LINE_STOP_PROBABILITY: Final = 0.6
_CN_DISCOUNTED_SHARE: Final = 0.75
_CN_PAID_SHARE_RANGE: Final = (0.70, 0.97)


def _cn_buyer_ids(rng: np.random.Generator) -> npt.NDArray[np.object_]:
    """Half Taobao-style ``tb`` + digits, half Chinese nicknames with a number."""
    n_numeric = _CN_BUYERS // 2
    numeric = ["tb" + str(value) for value in _distinct_integers(rng, 10**9, 10**10, n_numeric)]
    grid = len(_CN_NICKNAME_ADJECTIVES) * len(_CN_NICKNAME_NOUNS) * 100
    picks = rng.choice(grid, size=_CN_BUYERS - n_numeric, replace=False).tolist()
    nouns = len(_CN_NICKNAME_NOUNS)
    nicknames = [
        f"{_CN_NICKNAME_ADJECTIVES[pick // (nouns * 100)]}{_CN_NICKNAME_NOUNS[pick // 100 % nouns]}"
        f"{pick % 100}"
        for pick in picks
    ]
    return rng.permutation(np.asarray(numeric + nicknames, dtype=object))


def _build_cn_marketplace(directory: Path, rng: np.random.Generator) -> CorpusExport:
    """Simulate half a year of marketplace orders; write the GB18030 seller export."""
    buyers = _cn_buyer_ids(rng)
    per_buyer = 1 + rng.poisson(_CN_MEAN_EXTRA_ORDERS, _CN_BUYERS)
    owner = np.concatenate(
        [np.repeat(np.arange(_CN_BUYERS), per_buyer), np.full(_CN_GUEST_ORDERS, -1)]
    )
    n_orders = owner.size
    moment = _random_moments(
        rng, _CN_START, _CN_DAYS, n_orders, first_minute=0, last_minute=1439, with_seconds=True
    )
    moment = _separate_moments(owner, moment, np.timedelta64(1, "s"))
    order_number = _distinct_integers(rng, 10**15, 4 * 10**15, n_orders).astype(str).astype(object)
    status = rng.choice(_CN_STATUSES, size=n_orders, p=_CN_STATUS_WEIGHTS).astype(object)
    status[owner < 0] = _CN_STATUSES[0]
    # Paid orders of the last days are still on their way; older ones are completed.
    window_end = np.datetime64(_CN_START, "s") + np.timedelta64(_CN_DAYS, "D")
    in_transit = moment >= window_end - np.timedelta64(_CN_SHIPPING_DAYS, "D")
    status[(status == _CN_STATUSES[0]) & in_transit] = _CN_STATUSES[1]

    n_lines = np.minimum(_CN_MAXIMUM_LINES, rng.geometric(_CN_LINE_STOP_PROBABILITY, n_orders))
    newest_first = np.lexsort((np.arange(n_orders), moment))[::-1]
    order = np.repeat(newest_first, n_lines[newest_first])
    product = rng.integers(0, len(_CN_PRODUCTS), order.size)
    unit_price = np.asarray([entry[1] for entry in _CN_PRODUCTS], dtype=np.int64)[product]
    quantity = rng.choice(np.asarray(_CN_QUANTITIES), size=order.size, p=_CN_QUANTITY_WEIGHTS)
    list_total = unit_price * quantity
    paid_share = np.where(
        rng.random(order.size) < _CN_DISCOUNTED_SHARE,
        rng.uniform(*_CN_PAID_SHARE_RANGE, size=order.size),
        1.0,
    )
    paid = np.maximum(1, np.round(list_total * paid_share)).astype(np.int64)

    buyer_text = np.where(owner >= 0, buyers[np.maximum(owner, 0)], _CN_GUEST).astype(object)
    written = pd.DataFrame(
        {
            "订单号": order_number[order],
            "买家ID": buyer_text[order],
            "下单时间": pd.DatetimeIndex(moment[order]).strftime("%Y-%m-%d %H:%M:%S"),
            "商品名称": [_CN_PRODUCTS[index][0] for index in product.tolist()],
            "商品单价": _money_text(unit_price),
            "购买数量": quantity.astype(str),
            "实付金额": _money_text(paid),
            "订单状态": status[order],
        }
    )
    path = directory / "cn_marketplace_orders.csv"
    _write_csv(written, path, encoding="gb18030", line_end="\r\n")

    reason = np.asarray([_CN_STATUS_REASON[value] for value in status[order]], dtype=object)
    reason[owner[order] < 0] = "guest_placeholder"
    truth = _ground_truth(buyer_text[order], order_number[order], moment[order], paid, reason)
    return _make_export(
        "cn_marketplace",
        {"transactions": path},
        truth,
        cancellation_lines=0,
        orders_without_lines=0,
        spend_columns=("实付金额",),
        description=(
            "Chinese marketplace seller-backend order lines (GB18030 CSV, CRLF, newest first). "
            "Money is 实付金额, what the buyer paid after discounts (usually below 商品单价 × "
            "购买数量), of lines whose 订单状态 is 交易成功 or 已发货; 交易关闭 is cancelled, "
            f"等待买家付款 unpaid and 退款成功 refunded. {_CN_GUEST_ORDERS} orders are by the "
            "guest placeholder 游客. One product name holds a character outside GBK."
        ),
    )


# --------------------------------------------------------------------------------------------
# 5. Excel report with a title row
# --------------------------------------------------------------------------------------------

_XLSX_START: Final = "2023-01-02"
_XLSX_DAYS: Final = 362
_XLSX_CUSTOMERS: Final = 110
_XLSX_MEAN_EXTRA_ORDERS: Final = 2.0
_XLSX_TITLE: Final = "Sales report 2023 – exported 2024-01-05 14:00 by BackOffice"
_XLSX_EXPORTED_AT: Final = datetime.datetime(2024, 1, 5, 14, 0)
_XLSX_HEADER: Final = ("Order No.", "Customer", "Order Date", "Items", "Net Amount", "Currency")
_XLSX_PREFIXES: Final = (
    "Nordlicht", "Alpenblick", "Hafenkante", "Sonnenhof", "Blauwal", "Eichenwald",
    "Rheinperle", "Sternberg", "Lindenhof", "Seeblick", "Bergquell", "Morgenrot",
)  # fmt: skip
_XLSX_KINDS: Final = (
    "Handel GmbH", "Feinkost", "Buchladen", "Apotheke", "Gastro KG", "Concept Store",
    "Manufaktur", "Café", "Weinhandel", "Hotel",
)  # fmt: skip
_XLSX_MAXIMUM_ITEMS: Final = 60
_XLSX_ITEM_STOP_PROBABILITY: Final = 0.15
_XLSX_MEDIAN_ITEM_PRICE_CENTS: Final = 1800
_XLSX_REFUND_SHARE: Final = 0.04
_XLSX_REFUND_DELAY_DAYS: Final = (3, 30)


def _write_reproducible_workbook(workbook: Workbook, path: Path) -> None:
    """Save ``workbook`` so that the same content always gives the same bytes.

    openpyxl stamps the save time into the document properties and the zip entries; both are
    pinned to the report's export time.
    """
    workbook.properties.creator = "BackOffice"
    workbook.properties.created = _XLSX_EXPORTED_AT
    workbook.properties.modified = _XLSX_EXPORTED_AT
    buffer = io.BytesIO()
    ExcelWriter(workbook, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED)).save()
    stamp = _XLSX_EXPORTED_AT.timetuple()[:6]
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            pinned = zipfile.ZipInfo(entry.filename, date_time=stamp)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = 0o600 << 16
            target.writestr(pinned, source.read(entry.filename))


def _xlsx_customers(rng: np.random.Generator) -> ObjectArray:
    """Distinct business names of the report's customers."""
    picks = rng.choice(len(_XLSX_PREFIXES) * len(_XLSX_KINDS), _XLSX_CUSTOMERS, replace=False)
    return np.asarray(
        [
            f"{_XLSX_PREFIXES[pick // len(_XLSX_KINDS)]} {_XLSX_KINDS[pick % len(_XLSX_KINDS)]}"
            for pick in picks.tolist()
        ],
        dtype=object,
    )


@dataclass(frozen=True, slots=True)
class _XlsxDocuments:
    """Orders, then refunds: one entry per report row (not yet in row order)."""

    owner: IntArray
    items: IntArray
    cents: IntArray
    moment: MomentArray
    is_refund: BoolArray
    n_refunds: int


def _xlsx_orders_and_refunds(rng: np.random.Generator) -> _XlsxDocuments:
    """A year of orders and the refunds of a few of them."""
    per_customer = 1 + rng.poisson(_XLSX_MEAN_EXTRA_ORDERS, _XLSX_CUSTOMERS)
    sale_owner = np.repeat(np.arange(_XLSX_CUSTOMERS), per_customer)
    n_sales = sale_owner.size
    sale_day = rng.integers(0, _XLSX_DAYS, n_sales)
    sale_items = np.minimum(
        _XLSX_MAXIMUM_ITEMS, rng.geometric(_XLSX_ITEM_STOP_PROBABILITY, n_sales)
    )
    item_price = np.exp(rng.normal(np.log(_XLSX_MEDIAN_ITEM_PRICE_CENTS), 0.5, n_sales))
    sale_cents = np.round(sale_items * item_price).astype(np.int64)

    # Refunds: their own rows, 3-30 days after an order, for some or all of its items.
    n_refunds = max(3, round(_XLSX_REFUND_SHARE * n_sales))
    early = np.flatnonzero(sale_day < _XLSX_DAYS - _XLSX_REFUND_DELAY_DAYS[1])
    refunded = np.sort(rng.choice(early, size=n_refunds, replace=False))
    refund_items = rng.integers(1, sale_items[refunded] + 1)
    refund_cents = np.round(sale_cents[refunded] * refund_items / sale_items[refunded])
    refund_day = sale_day[refunded] + rng.integers(*_XLSX_REFUND_DELAY_DAYS, size=n_refunds)

    owner = np.concatenate([sale_owner, sale_owner[refunded]])
    day = np.concatenate([sale_day, refund_day])
    minute = rng.integers(8 * 60, 19 * 60, owner.size)
    moment = np.datetime64(_XLSX_START, "m") + (day * 1440 + minute).astype("timedelta64[m]")
    return _XlsxDocuments(
        owner=owner,
        items=np.concatenate([sale_items, -refund_items]),
        cents=np.concatenate([sale_cents, -refund_cents.astype(np.int64)]),
        moment=_separate_moments(owner, moment, np.timedelta64(1, "m")),
        is_refund=np.arange(owner.size) >= n_sales,
        n_refunds=n_refunds,
    )


def _xlsx_order_names(moment: MomentArray, is_refund: BoolArray) -> tuple[IntArray, ObjectArray]:
    """The rows in time order and their order numbers (``SO-`` orders, ``R-`` refunds)."""
    row_order = np.lexsort((np.arange(moment.size), moment))
    order_name = np.empty(moment.size, dtype=object)
    sales_in_time = row_order[~is_refund[row_order]]
    refunds_in_time = row_order[is_refund[row_order]]
    order_name[sales_in_time] = [f"SO-{230001 + rank}" for rank in range(sales_in_time.size)]
    order_name[refunds_in_time] = [f"R-{23001 + rank}" for rank in range(refunds_in_time.size)]
    return row_order, order_name


def _write_xlsx_report(
    path: Path,
    documents: _XlsxDocuments,
    customers: ObjectArray,
    row_order: IntArray,
    order_name: ObjectArray,
) -> None:
    """Write the titled, formatted workbook: title, empty row, header, one row per document."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sales"
    sheet["A1"] = _XLSX_TITLE
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(list(_XLSX_HEADER))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    stamps = documents.moment.astype("datetime64[s]").astype(object)
    for row in row_order.tolist():
        sheet.append(
            [
                order_name[row],
                customers[documents.owner[row]],
                stamps[row],
                int(documents.items[row]),
                float(documents.cents[row]) / 100.0,
                "EUR",
            ]
        )
    for cell in sheet["C"][3:]:
        cell.number_format = "yyyy-mm-dd hh:mm"
    for cell in sheet["E"][3:]:
        cell.number_format = "#,##0.00"
    for column, width in zip("ABCDEF", (12, 28, 18, 8, 12, 10), strict=True):
        sheet.column_dimensions[column].width = width
    _write_reproducible_workbook(workbook, path)


def _build_xlsx_title_row(directory: Path, rng: np.random.Generator) -> CorpusExport:
    """Simulate a year of back-office orders and refunds; write the titled Excel report."""
    customers = _xlsx_customers(rng)
    documents = _xlsx_orders_and_refunds(rng)
    row_order, order_name = _xlsx_order_names(documents.moment, documents.is_refund)
    path = directory / "sales_report.xlsx"
    _write_xlsx_report(path, documents, customers, row_order, order_name)

    truth = _ground_truth(
        customers[documents.owner[row_order]],
        order_name[row_order],
        documents.moment[row_order],
        documents.cents[row_order],
        np.full(documents.owner.size, _COUNTED, dtype=object),
    )
    return _make_export(
        "xlsx_title_row",
        {"transactions": path},
        truth,
        cancellation_lines=documents.n_refunds,
        orders_without_lines=0,
        spend_columns=("Net Amount",),
        description=(
            "Back-office Excel report: a title in A1, row 2 empty, the header in row 3, one row "
            "per order with an Excel datetime Order Date, Items (a count) and a numeric Net "
            f"Amount in EUR. {documents.n_refunds} refunds are their own rows with an 'R-' order "
            "number, negative Items and a negative Net Amount."
        ),
    )
