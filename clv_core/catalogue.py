"""The one catalogue of the labels the engine's results carry, in English and 简体中文.

The engine computes with stable codes: feature names (``n_orders``), churn bands
(``low``/``medium``/``high``), action codes (``win_back_now``), tier positions (``tier_1`` is the
top tier) and row-issue codes (``missing_date``). A program reads those codes (the command
line's JSON, Parquet lists, the API). People read labels, and every label of those codes lives
here, with one English and one Chinese wording:

- :data:`FEATURE_LABELS` and :func:`feature_label` (window features by pattern);
- :data:`ISSUE_LABELS`: why a row was dropped or altered;
- :data:`BAND_LABELS`, :data:`ACTION_LABELS` and :func:`tier_names` (default tier names);
- :func:`format_value` / :func:`format_contribution`: how a feature value and a SHAP value
  read in a driver text ("orders = 4 (+312.5)").

Files written for people (the campaign CSV/XLSX, driver texts) use these labels in the chosen
language; the workbench's page text (titles, buttons, help) is in ``clv_ui.i18n`` and takes
these labels from here. This module imports nothing of the engine but :mod:`clv_core.language`,
so any layer can use it.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from clv_core.language import Language, parse_language

__all__ = [
    "ACTION_LABELS",
    "BAND_LABELS",
    "FEATURE_LABELS",
    "ISSUE_LABELS",
    "MISSING_VALUE",
    "Label",
    "feature_label",
    "format_contribution",
    "format_value",
    "pick",
    "tier_code",
    "tier_names",
]

Label = tuple[str, str]
"""One label as (English, Chinese)."""


def pick(label: Label, language: Language | str) -> str:
    """The wording of ``label`` in ``language`` (``"en"`` or ``"zh"``)."""
    return label[1] if parse_language(language) is Language.ZH else label[0]


# -- features -----------------------------------------------------------------------------------

FEATURE_LABELS: Final[Mapping[str, Label]] = MappingProxyType(
    {
        "frequency": ("repeat purchase days", "复购天数"),
        "recency": ("days from first to last purchase", "首末次购买间隔天数"),
        "T": ("days since first purchase", "首次购买至今天数"),
        "monetary_value": ("mean repeat-purchase spend", "复购平均消费额"),
        "bgnbd_p_alive": ("chance still active (BG/NBD)", "仍活跃概率（BG/NBD）"),
        "bgnbd_purchase_rate": ("expected purchases per year (BG/NBD)", "预期年购买次数（BG/NBD）"),
        "n_orders": ("orders", "订单数"),
        "active_days": ("days with orders", "有订单的天数"),
        "active_months": ("months with orders", "有订单的月数"),
        "orders_per_month": ("orders per month", "月均订单数"),
        "gross_spend": ("gross spend", "总消费额"),
        "net_spend": ("net spend", "净消费额"),
        "average_order_value": ("average order value", "平均订单金额"),
        "first_order_value": ("first order value", "首单金额"),
        "last_order_value": ("last order value", "末单金额"),
        "max_order_value": ("largest order value", "最大订单金额"),
        "n_returns": ("returns", "退货次数"),
        "return_amount": ("returned amount", "退货金额"),
        "return_share": ("share of spend returned", "退货金额占比"),
        "days_since_last_purchase": ("days since last purchase", "距上次购买天数"),
        "mean_days_between_purchases": ("mean days between purchases", "平均购买间隔天数"),
        "std_days_between_purchases": ("spread of days between purchases", "购买间隔天数标准差"),
        "spend_trend": ("spend trend", "消费趋势"),
        "order_trend": ("order trend", "订单趋势"),
        "days_since_signup": ("days since signup", "注册至今天数"),
        "days_from_signup_to_first_purchase": (
            "days from signup to first purchase",
            "注册到首购天数",
        ),
        "channel": ("acquisition channel", "获客渠道"),
        "region": ("region", "地区"),
        "device": ("device", "设备"),
        "age_group": ("age group", "年龄段"),
        "membership": ("membership", "会员等级"),
        "browsing_minutes": ("browsing minutes", "浏览时长（分钟）"),
    }
)
"""Labels of the built-in feature names.

Window features (``orders_last_<n>d``, ``spend_last_<n>d``) and other ``days_since_<x>``
attributes are labelled by pattern in :func:`feature_label`; other names are shown as they are.
"""

_FEATURE_PATTERNS: Final[tuple[tuple[re.Pattern[str], Label], ...]] = (
    (re.compile(r"orders_last_(\d+)d"), ("orders in last {} days", "近{}天订单数")),
    (re.compile(r"spend_last_(\d+)d"), ("spend in last {} days", "近{}天消费额")),
    (re.compile(r"days_since_(\w+)"), ("days since {}", "距{}天数")),
)

MISSING_VALUE: Final[Label] = ("missing", "缺失")
"""How a missing feature value reads."""


def feature_label(name: str, language: Language | str = Language.EN) -> str:
    """A short human label of a feature name in English (``"en"``) or Chinese (``"zh"``).

    Built-in names come from :data:`FEATURE_LABELS`; ``orders_last_<n>d``, ``spend_last_<n>d``
    and ``days_since_<x>`` are labelled by pattern; any other name is returned as it is.
    """
    chosen = parse_language(language)
    if name in FEATURE_LABELS:
        return pick(FEATURE_LABELS[name], chosen)
    for pattern, label in _FEATURE_PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            part = match.group(1)
            if part in FEATURE_LABELS:
                part = pick(FEATURE_LABELS[part], chosen)
            return pick(label, chosen).format(part.replace("_", " "))
    return name


def format_value(value: object, language: Language | str = Language.EN) -> str:
    """A feature value for text: category as is, whole numbers without decimals."""
    # numbers.Real covers numpy's scalars too, without importing numpy (the first page uses this
    # module before anything heavy is loaded).
    if value is None or (isinstance(value, numbers.Real) and math.isnan(value)):
        return pick(MISSING_VALUE, language)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isinf(number):
            return str(number)
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        if abs(number) >= 1000:
            return f"{number:.0f}"
        if abs(number) >= 1:
            return f"{number:.2f}".rstrip("0").rstrip(".")
        return f"{number:.3g}"
    return str(value)


def format_contribution(value: float) -> str:
    """A SHAP value with its sign: one decimal, or two significant digits when tiny."""
    if abs(value) >= 0.05:
        return f"{value:+.1f}"
    if value == 0:
        return "+0"
    return f"{value:+.2g}"


# -- segments -----------------------------------------------------------------------------------

BAND_LABELS: Final[Mapping[str, Label]] = MappingProxyType(
    {"low": ("Low", "低"), "medium": ("Medium", "中"), "high": ("High", "高")}
)
"""Churn-risk band labels by band code (``clv_core.segments.ChurnBand``), Low to High."""

_TIER_NAMES: Final[Mapping[int, tuple[Label, ...]]] = MappingProxyType(
    {
        2: (("High value", "高价值"), ("Low value", "低价值")),
        3: (("High value", "高价值"), ("Regular", "一般"), ("Low value", "低价值")),
        4: (
            ("High value", "高价值"),
            ("Potential", "潜力"),
            ("Regular", "一般"),
            ("Low value", "低价值"),
        ),
    }
)
_NUMBERED_TIER: Final[Label] = ("Tier {}", "第{}层")


def tier_code(position: int) -> str:
    """The stable code of the tier at ``position`` (0 = top): ``tier_1``, ``tier_2``, ..."""
    return f"tier_{position + 1}"


def tier_names(n_tiers: int, language: Language | str = Language.EN) -> tuple[str, ...]:
    """Default tier names, top first: named for 2 to 4 tiers, numbered otherwise."""
    named = _TIER_NAMES.get(n_tiers)
    if named is not None:
        return tuple(pick(label, language) for label in named)
    return tuple(
        pick(_NUMBERED_TIER, language).format(position) for position in range(1, n_tiers + 1)
    )


ACTION_LABELS: Final[Mapping[str, Label]] = MappingProxyType(
    {
        "reward_and_retain": ("Reward and retain", "奖励与维系"),
        "vip_care": ("VIP care", "专属关怀"),
        "win_back_now": ("Win back now", "立即挽回"),
        "upsell_and_cross_sell": ("Upsell and cross-sell", "追加与交叉销售"),
        "engage_to_grow": ("Engage to grow", "促活培养"),
        "targeted_win_back_offer": ("Targeted win-back offer", "定向挽回优惠"),
        "keep_engaged": ("Keep engaged", "保持互动"),
        "low_cost_reminders": ("Low-cost reminders", "低成本提醒"),
        "low_cost_reactivation": ("Low-cost reactivation", "低成本唤醒"),
        "automated_nurture": ("Automated nurture", "自动化培育"),
        "low_cost_maintenance": ("Low-cost maintenance", "低成本维护"),
        "do_not_spend": ("Do not spend", "不再投入"),
    }
)
"""Recommended actions by action code (the cells of ``clv_core.segments.ACTION_GRID``)."""


# -- row issues ---------------------------------------------------------------------------------

ISSUE_LABELS: Final[Mapping[str, Label]] = MappingProxyType(
    {
        "missing_customer_id": ("customer id is empty", "客户 ID 为空"),
        "missing_date": ("order date is empty", "订单日期为空"),
        "unparsable_date": ("order date is not a recognised date", "订单日期无法识别"),
        "date_too_early": (
            "order date is before 1970 (usually a placeholder such as 1900-01-01)",
            "订单日期早于 1970 年",
        ),
        "future_date": (
            "order date is after the latest valid date (in the future)",
            "订单日期在未来",
        ),
        "missing_amount": ("amount is empty", "金额为空"),
        "non_numeric_amount": ("amount is not a number", "金额不是数字"),
        "duplicate_row": ("exact duplicate of an earlier row", "与前面某行完全重复"),
        "duplicate_customer_id": (
            "customer id already appeared on an earlier row",
            "客户 ID 重复",
        ),
        "missing_target": ("target value is empty", "目标值为空"),
        "non_numeric_target": ("target value is not a number", "目标值不是数字"),
        "amount_text_cleaned": (
            "amount had currency symbols, spaces or separators removed",
            "金额文本已清洗（符号、分隔符）",
        ),
        "amount_from_quantity_and_price": (
            "amount computed as quantity x unit price",
            "金额 = 数量 × 单价",
        ),
        "timezone_removed": (
            "time-zone offset removed from the date (local time kept)",
            "已去除时区偏移",
        ),
        "negative_target_clipped": ("negative target set to 0", "负目标值已设为 0"),
        "unparsable_value_set_missing": (
            "value could not be parsed and was set to missing",
            "无法解析的值已设为缺失",
        ),
        "order_lines_combined": (
            "order line merged into its order (same customer and order id)",
            "订单行已合并到订单",
        ),
        "guest_customer_id": (
            "customer id is a guest placeholder (e.g. 'guest', '0', '游客')",
            "客户 ID 为游客占位符",
        ),
        "unknown_order": (
            "order line whose order id is not in the orders table",
            "明细所属订单不在订单表中",
        ),
        "order_cancelled": (
            "order status says cancelled, voided or closed: not spend",
            "订单已取消/关闭：不计为消费",
        ),
        "order_refunded": (
            "order status says refunded or returned: not spend",
            "订单已退款/退货：不计为消费",
        ),
        "order_unpaid": (
            "order status says unpaid, pending or failed: not spend",
            "订单未付款/待支付：不计为消费",
        ),
        "lines_combined_into_baskets": (
            "line merged into its basket (no order id: one order per customer per day or "
            "timestamp)",
            "明细已合并为购物篮（同一客户同一天或同一时间）",
        ),
        "discount_subtracted": (
            "line discount subtracted from quantity x unit price",
            "已扣减行优惠",
        ),
        "order_fields_filled": (
            "empty customer, date, status or currency filled from the same order's first line",
            "空的订单字段已按同一订单首行补全",
        ),
        "order_total_on_other_line": (
            "empty order total on a further line of an order whose total is on its first line "
            "(counted once)",
            "订单总额仅在订单首行（只计一次）",
        ),
        "return_made_negative": (
            "positive amount made negative: a return (negative quantity) or a line of a "
            "cancellation document",
            "正数金额改为负数（退货或取消单）",
        ),
    }
)
"""Why a row was dropped or a value altered, by ``clv_core.issues.RowIssue`` code."""
