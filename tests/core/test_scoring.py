"""Deployment: train on the window ending at as_of, score every customer known at as_of."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from clv_core.errors import DataError
from clv_core.features import FeatureOptions, build_features
from clv_core.mlp import ClvMlp
from clv_core.scoring import DeploymentModel, score_customers, train_for_deployment
from clv_core.synthetic import SyntheticWorld
from clv_core.validation import CustomerAttributes, validate_customers
from tests.conftest import TINY_CONFIG

SCORING_DATE = dt.date(2024, 12, 31)


def transactions_of(world: SyntheticWorld) -> pd.DataFrame:
    return world.transactions[["customer_id", "order_date", "amount"]]


def up_to(transactions: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Only the orders on or before ``day`` (any time of that day)."""
    return transactions.loc[transactions["order_date"] < pd.Timestamp(day) + pd.Timedelta(days=1)]


def buyers_up_to(transactions: pd.DataFrame, day: dt.date) -> set[str]:
    """Customers with a purchase (not only a return) on or before ``day``, computed directly."""
    orders = up_to(transactions, day)
    return set(orders.loc[orders["amount"] >= 0, "customer_id"].astype(str))


@pytest.fixture(scope="module")
def attributes(small_world: SyntheticWorld) -> CustomerAttributes:
    return validate_customers(small_world.customers.astype(str))


@pytest.fixture(scope="module")
def default_deployment(small_world: SyntheticWorld) -> DeploymentModel:
    """Trained with the default as_of (the last date in the data) and a one-year horizon."""
    return train_for_deployment(transactions_of(small_world), 365, config=TINY_CONFIG)


# ------------------------------------------------------------------------------------------
# train_for_deployment
# ------------------------------------------------------------------------------------------


def test_as_of_defaults_to_the_last_date(
    default_deployment: DeploymentModel, small_world: SyntheticWorld
) -> None:
    last = transactions_of(small_world)["order_date"].max()
    assert default_deployment.as_of == last.date() == dt.date(2025, 12, 31)
    assert default_deployment.horizon_days == 365


def test_training_uses_the_window_ending_at_as_of(
    default_deployment: DeploymentModel, small_world: SyntheticWorld
) -> None:
    training = default_deployment.training
    # Features at as_of - horizon, labels over (as_of - horizon, as_of].
    assert training["training_cutoff"] == "2024-12-31"
    assert training["label_window_end"] == "2025-12-31"
    transactions = transactions_of(small_world)
    assert training["n_customers"] == len(buyers_up_to(transactions, dt.date(2024, 12, 31)))
    assert 0 < training["customers_who_bought"] < training["n_customers"]
    assert set(training["in_sample_metrics"]) >= {"spearman", "normalized_gini", "mae"}
    assert training["fit_seconds"] > 0
    assert len(training["epochs"]) == TINY_CONFIG.ensemble_size
    assert all(1 <= epochs <= TINY_CONFIG.max_epochs for epochs in training["epochs"])


def test_deployment_model_is_fitted_with_the_given_config(
    default_deployment: DeploymentModel,
) -> None:
    model = default_deployment.model
    assert model.config == TINY_CONFIG
    assert model.network_ is not None
    assert model.feature_columns_ is not None
    # No customer table: only transaction features.
    assert "channel" not in model.feature_columns_
    assert default_deployment.feature_options == FeatureOptions()
    # The default small world has 600 customers: fewer than recommended, so a warning.
    assert any("customers at the training cutoff" in w for w in default_deployment.warnings)


@pytest.mark.slow
def test_orders_after_as_of_do_not_change_the_model(small_world: SyntheticWorld) -> None:
    as_of = dt.date(2025, 6, 30)
    transactions = transactions_of(small_world)
    with_future = train_for_deployment(transactions, 180, as_of=as_of, config=TINY_CONFIG)
    without_future = train_for_deployment(
        up_to(transactions, as_of), 180, as_of=as_of, config=TINY_CONFIG
    )
    assert with_future.training["training_cutoff"] == "2025-01-01"
    assert with_future.training["label_window_end"] == "2025-06-30"
    assert with_future.training["n_customers"] == without_future.training["n_customers"]
    features = build_features(transactions, as_of)
    np.testing.assert_allclose(
        with_future.model.predict(features).to_numpy(),
        without_future.model.predict(features).to_numpy(),
        rtol=1e-6,
    )


def test_training_before_the_data_has_a_window_is_refused(small_world: SyntheticWorld) -> None:
    # as_of 2023-06-30 with a one-year horizon puts the training cutoff in 2022.
    with pytest.raises(DataError, match=r"training cutoff 2022-06-30 is before the data starts"):
        train_for_deployment(
            transactions_of(small_world), 365, as_of=dt.date(2023, 6, 30), config=TINY_CONFIG
        )


# ------------------------------------------------------------------------------------------
# score_customers
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored(
    tiny_model: ClvMlp, small_world: SyntheticWorld, attributes: CustomerAttributes
) -> pd.DataFrame:
    return score_customers(
        tiny_model, transactions_of(small_world), as_of=SCORING_DATE, customers=attributes
    )


def test_every_customer_known_at_as_of_is_scored_once(
    scored: pd.DataFrame, small_world: SyntheticWorld
) -> None:
    expected = buyers_up_to(transactions_of(small_world), SCORING_DATE)
    assert scored["customer_id"].is_unique
    assert set(scored["customer_id"]) == expected
    assert len(scored) == len(expected)


def test_scores_are_sorted_and_complete(scored: pd.DataFrame) -> None:
    assert list(scored.columns) == [
        "customer_id",
        "predicted_clv",
        "p_purchase",
        "clv_lower",
        "clv_upper",
    ]
    assert list(scored.index) == list(range(len(scored)))
    assert scored["predicted_clv"].is_monotonic_decreasing
    assert np.isfinite(scored.drop(columns="customer_id").to_numpy()).all()
    assert (scored["predicted_clv"] >= 0).all()
    assert scored["p_purchase"].between(0, 1).all()
    assert (scored["clv_lower"] >= 0).all()
    assert (scored["clv_lower"] <= scored["clv_upper"]).all()
    assert scored["predicted_clv"].nunique() > len(scored) // 2


def test_scores_match_the_model_on_features_at_as_of(
    scored: pd.DataFrame,
    tiny_model: ClvMlp,
    small_world: SyntheticWorld,
    attributes: CustomerAttributes,
) -> None:
    features = build_features(transactions_of(small_world), SCORING_DATE, customers=attributes)
    direct = tiny_model.predict(features)
    by_customer = scored.set_index("customer_id").loc[direct.index]
    np.testing.assert_allclose(by_customer.to_numpy(), direct.to_numpy(), rtol=1e-9)


def test_scoring_ignores_orders_after_as_of(
    scored: pd.DataFrame,
    tiny_model: ClvMlp,
    small_world: SyntheticWorld,
    attributes: CustomerAttributes,
) -> None:
    history_only = up_to(transactions_of(small_world), SCORING_DATE)
    again = score_customers(tiny_model, history_only, as_of=SCORING_DATE, customers=attributes)
    pd.testing.assert_frame_equal(again, scored)


def test_as_of_defaults_to_the_last_date_when_scoring(
    tiny_model: ClvMlp, small_world: SyntheticWorld, attributes: CustomerAttributes
) -> None:
    transactions = transactions_of(small_world)
    by_default = score_customers(tiny_model, transactions, customers=attributes)
    explicit = score_customers(
        tiny_model, transactions, as_of=dt.date(2025, 12, 31), customers=attributes
    )
    pd.testing.assert_frame_equal(by_default, explicit)
    assert set(by_default["customer_id"]) == buyers_up_to(transactions, dt.date(2025, 12, 31))


def test_the_deployment_model_scores_every_customer_at_as_of(
    default_deployment: DeploymentModel, small_world: SyntheticWorld
) -> None:
    # As the CLI does it: the deployment model, its feature windows, no customer table.
    transactions = transactions_of(small_world)
    result = score_customers(
        default_deployment.model,
        transactions,
        as_of=default_deployment.as_of,
        feature_options=default_deployment.feature_options,
    )
    assert set(result["customer_id"]) == buyers_up_to(transactions, default_deployment.as_of)
    assert result["predicted_clv"].is_monotonic_decreasing
    assert result["p_purchase"].between(0, 1).all()
    assert (result["clv_lower"] <= result["clv_upper"]).all()


def test_scoring_before_the_data_starts_is_refused(
    tiny_model: ClvMlp, small_world: SyntheticWorld, attributes: CustomerAttributes
) -> None:
    with pytest.raises(
        DataError,
        match=r"No customer has a purchase on or before the cutoff 2022-12-31; the data starts",
    ):
        score_customers(
            tiny_model,
            transactions_of(small_world),
            as_of=dt.date(2022, 12, 31),
            customers=attributes,
        )


def test_scoring_without_the_attributes_the_model_needs_is_refused(
    tiny_model: ClvMlp, small_world: SyntheticWorld
) -> None:
    with pytest.raises(DataError, match=r"lacks 8 feature\(s\)") as info:
        score_customers(tiny_model, transactions_of(small_world), as_of=SCORING_DATE)
    for column in ("channel", "region", "browsing_minutes", "days_since_signup"):
        assert f"'{column}'" in str(info.value)
