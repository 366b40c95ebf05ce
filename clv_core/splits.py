"""The time protocol: cutoffs, horizons, customer and out-of-time splits, minimum-data checks.

See the README, "The time protocol". In short:

* **customer split** (default for evaluation): customers seen on or before the cutoff are split
  80/20 at random with a seed; the model learns on 80% and is measured on 20%, all with features
  at the cutoff and labels over ``(cutoff, cutoff + horizon]``.
* **out-of-time split**: the model learns from features at ``cutoff - horizon`` with labels in
  ``(cutoff - horizon, cutoff]``, and is measured on features at ``cutoff`` against the real
  ``(cutoff, cutoff + horizon]``. This is what deployment does.
* **deployment**: ``as_of`` is the last date in the data; the model is trained on the window
  ending at ``as_of`` and scores every customer at ``as_of``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from clv_core.errors import ConfigError, DataError
from clv_core.kinds import SplitKind

__all__ = [
    "MINIMUM_CUSTOMERS",
    "RECOMMENDED_CUSTOMERS",
    "CustomerSplit",
    "HistoryFacts",
    "SplitKind",
    "TimeWindows",
    "as_day",
    "check_history",
    "check_minimum_data",
    "deployment_windows",
    "history_facts",
    "split_customers",
    "time_windows",
]

MINIMUM_CUSTOMERS = 50
RECOMMENDED_CUSTOMERS = 1000


@dataclass(frozen=True, slots=True)
class CustomerSplit:
    """Training and test customer ids (disjoint, together all customers)."""

    train: pd.Index
    test: pd.Index


def split_customers(
    customer_ids: pd.Index, *, test_size: float = 0.2, seed: int = 0
) -> CustomerSplit:
    """Split customers at random into training and test sets.

    The split depends only on the set of ids, the test size and the seed, not on the order in
    which the ids arrive, so the same data always gives the same split.

    Raises
    ------
    ConfigError
        ``test_size`` is not in (0, 1), or either side would be empty.
    """
    if not 0 < test_size < 1:
        raise ConfigError(f"test_size must be between 0 and 1 (exclusive), got {test_size}.")
    ordered = pd.Index(np.sort(customer_ids.unique().to_numpy().astype(str)), name="customer_id")
    n_test = round(len(ordered) * test_size)
    if n_test == 0 or n_test == len(ordered):
        raise ConfigError(
            f"A test share of {test_size} of {len(ordered)} customers leaves one side empty; "
            "use more customers or a test size nearer 0.2."
        )
    permutation = np.random.default_rng(seed).permutation(len(ordered))
    test = ordered[np.sort(permutation[:n_test])]
    train = ordered[np.sort(permutation[n_test:])]
    return CustomerSplit(train=train, test=test)


@dataclass(frozen=True, slots=True)
class TimeWindows:
    """Cutoffs of one evaluation or deployment set-up.

    ``train_cutoff`` is where training features end (its labels cover the following
    ``horizon_days``); ``evaluation_cutoff`` is where the scored features end, with the real
    outcome over the following ``horizon_days`` when it is known.
    """

    train_cutoff: pd.Timestamp
    evaluation_cutoff: pd.Timestamp
    horizon_days: int

    @property
    def train_label_end(self) -> pd.Timestamp:
        """Last day of the training labels' window."""
        return self.train_cutoff + pd.Timedelta(days=self.horizon_days)

    @property
    def evaluation_label_end(self) -> pd.Timestamp:
        """Last day of the evaluation labels' window."""
        return self.evaluation_cutoff + pd.Timedelta(days=self.horizon_days)


def time_windows(
    cutoff: dt.date | str | pd.Timestamp, horizon_days: int, split: SplitKind | str
) -> TimeWindows:
    """The cutoffs used by an evaluation with the given split (see the module docstring)."""
    kind = _split_kind(split)
    _check_horizon(horizon_days)
    evaluation_cutoff = as_day(cutoff, "cutoff")
    if kind is SplitKind.CUSTOMER:
        return TimeWindows(evaluation_cutoff, evaluation_cutoff, horizon_days)
    return TimeWindows(
        evaluation_cutoff - pd.Timedelta(days=horizon_days), evaluation_cutoff, horizon_days
    )


def deployment_windows(as_of: dt.date | str | pd.Timestamp, horizon_days: int) -> TimeWindows:
    """Deployment: train on labels in the last ``horizon_days`` before ``as_of``, score at it."""
    _check_horizon(horizon_days)
    scoring_cutoff = as_day(as_of, "as_of")
    return TimeWindows(
        scoring_cutoff - pd.Timedelta(days=horizon_days), scoring_cutoff, horizon_days
    )


@dataclass(frozen=True, slots=True)
class HistoryFacts:
    """What :func:`check_history` needs of a log: its first and last day, and the customers
    with a purchase (amount >= 0) on or before the training cutoff, of whom ``n_repeat``
    bought on more than one day."""

    first: pd.Timestamp
    last: pd.Timestamp
    n_customers: int
    n_repeat: int


def history_facts(transactions: pd.DataFrame, train_cutoff: pd.Timestamp) -> HistoryFacts:
    """The :class:`HistoryFacts` of validated orders."""
    day = transactions["order_date"]
    before = transactions.loc[
        (day < train_cutoff + pd.Timedelta(days=1)) & (transactions["amount"] >= 0)
    ]
    purchase_days = (
        before.assign(day=before["order_date"].dt.normalize())
        .groupby("customer_id")["day"]
        .nunique()
    )
    return HistoryFacts(
        first=pd.Timestamp(day.min()).normalize(),
        last=pd.Timestamp(day.max()).normalize(),
        n_customers=len(purchase_days),
        n_repeat=int((purchase_days > 1).sum()),
    )


def check_minimum_data(
    transactions: pd.DataFrame,
    windows: TimeWindows,
    *,
    labels_needed_at_evaluation: bool = True,
    minimum_customers: int = MINIMUM_CUSTOMERS,
) -> list[str]:
    """Check that the data can support the chosen windows; return warnings, raise if impossible.

    Parameters
    ----------
    transactions
        Validated orders (``customer_id``, ``order_date``, ``amount``).
    windows
        From :func:`time_windows` or :func:`deployment_windows`.
    labels_needed_at_evaluation
        ``True`` when the outcome after the evaluation cutoff must be observed (evaluation);
        ``False`` for deployment scoring, where it lies in the future.
    minimum_customers
        Fewer customers at the training cutoff than this is an error (the default is what
        training and evaluation need; building features alone needs one).

    Raises
    ------
    DataError
        Every problem that makes the set-up impossible, listed together: too few customers at the
        training cutoff, a cutoff before the data starts, label windows running past the data end.
    """
    return check_history(
        history_facts(transactions, windows.train_cutoff),
        windows,
        labels_needed_at_evaluation=labels_needed_at_evaluation,
        minimum_customers=minimum_customers,
    )


def check_history(
    facts: HistoryFacts,
    windows: TimeWindows,
    *,
    labels_needed_at_evaluation: bool = True,
    minimum_customers: int = MINIMUM_CUSTOMERS,
) -> list[str]:
    """:func:`check_minimum_data` from the log's :class:`HistoryFacts`."""
    first, last = facts.first, facts.last
    problems = _window_problems(windows, first, last, labels_needed_at_evaluation)
    n_customers = facts.n_customers
    if windows.train_cutoff >= first and n_customers < minimum_customers:
        problems.append(
            f"Only {n_customers} customers bought on or before the training cutoff "
            f"{windows.train_cutoff.date()}; at least {minimum_customers} are needed to train "
            f"and evaluate (thousands for dependable results)."
        )
    if problems:
        raise DataError("The data cannot support these time windows:", problems=problems)
    return _data_warnings(facts, windows)


def _window_problems(
    windows: TimeWindows,
    first: pd.Timestamp,
    last: pd.Timestamp,
    labels_needed_at_evaluation: bool,
) -> list[str]:
    """Why the windows do not fit in the data from ``first`` to ``last`` (empty when they do)."""
    problems: list[str] = []
    horizon = windows.horizon_days
    if windows.train_cutoff < first:
        problems.append(
            f"The training cutoff {windows.train_cutoff.date()} is before the data starts "
            f"({first.date()}). Choose a later cutoff or a shorter horizon "
            f"(the data covers {(last - first).days} days)."
        )
    if windows.train_label_end > last:
        problems.append(
            f"Training labels need data up to {windows.train_label_end.date()} (cutoff + "
            f"{horizon} days), but the data ends on {last.date()}. Choose an earlier cutoff or "
            "a shorter horizon."
        )
    if labels_needed_at_evaluation and windows.evaluation_label_end > last:
        problems.append(
            f"Evaluation labels need data up to {windows.evaluation_label_end.date()}, but the "
            f"data ends on {last.date()}. Choose a cutoff on or before "
            f"{(last - pd.Timedelta(days=horizon)).date()}."
        )
    return problems


def _data_warnings(facts: HistoryFacts, windows: TimeWindows) -> list[str]:
    """Warnings about thin data: few customers, short history, few repeat buyers."""
    warnings: list[str] = []
    horizon = windows.horizon_days
    n_customers = facts.n_customers
    if n_customers < RECOMMENDED_CUSTOMERS:
        warnings.append(
            f"Only {n_customers:,} customers at the training cutoff; with fewer than "
            f"{RECOMMENDED_CUSTOMERS:,} the metrics are noisy and the network may underfit."
        )
    history_days = (windows.train_cutoff - facts.first).days
    if history_days < horizon:
        warnings.append(
            f"The history before the training cutoff ({history_days} days) is shorter than the "
            f"horizon ({horizon} days): features see less than one horizon of behaviour."
        )
    if n_customers and facts.n_repeat == 0:
        warnings.append(
            "No customer bought on more than one day before the training cutoff: BG/NBD cannot "
            "learn repeat behaviour and every model sees one-time buyers only."
        )
    elif n_customers and facts.n_repeat / n_customers < 0.05:
        warnings.append(
            f"Only {facts.n_repeat / n_customers:.1%} of customers are repeat buyers before the "
            "training cutoff; repeat-purchase models will be uncertain."
        )
    return warnings


def _split_kind(split: SplitKind | str) -> SplitKind:
    try:
        return SplitKind(split)
    except ValueError as error:
        raise ConfigError(
            f"Unknown split {split!r}; choose one of {[kind.value for kind in SplitKind]}."
        ) from error


def _check_horizon(horizon_days: int) -> None:
    if horizon_days < 1:
        raise ConfigError(f"horizon_days must be a positive number of days, got {horizon_days}.")


def as_day(value: dt.date | str | pd.Timestamp, name: str = "date") -> pd.Timestamp:
    """A day (midnight timestamp) from a date, a timestamp or text such as ``2024-06-30``.

    Raises
    ------
    ConfigError
        The value is empty or not a date; the message names the option (``name``).
    """
    try:
        timestamp = pd.Timestamp(value)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{name} must be a date such as 2024-06-30, got {value!r}.") from error
    if pd.isna(timestamp):
        raise ConfigError(f"{name} must be a date such as 2024-06-30, got {value!r}.")
    return timestamp.normalize()
