"""Feature preprocessing for the network, fitted on training customers only.

* **Numeric columns**: heavy-tailed columns (money, counts; skewness above 1 on the training
  customers) go through a signed ``log1p`` first; every numeric column is then standardised with
  the training mean and standard deviation and clipped to +-5 standard deviations, so an extreme
  value in new data cannot blow up the network. Missing values are filled with the training
  median; a ``<column>__missing`` indicator is added for columns that had missing values in
  training.
* **Categorical columns**: one-hot over the training categories seen at least
  ``min_category_count`` times (at most ``max_categories`` per column, most frequent first);
  rarer, unknown and missing values share the ``<column>=__other__`` slot.
* **BG/NBD inputs** (when fitted with a :class:`~clv_core.value.TimingModel`, the BG/NBD fitted
  on the training customers): ``bgnbd_p_alive`` and ``bgnbd_purchase_rate`` are computed from
  ``frequency``, ``recency`` and ``T`` and treated as two more numeric columns. They are not
  read from the data (:attr:`Preprocessor.input_columns_` leaves them out); every transform
  computes them with the fitted parameters.

The fitted state is plain JSON (``to_dict`` / ``from_dict``); the model bundle stores it as
``preprocess.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from clv_core.errors import ConfigError, DataError, NotFittedError
from clv_core.value import TIMING_COLUMNS, TIMING_INPUTS, TimingModel

__all__ = ["Preprocessor"]

OTHER_CATEGORY = "__other__"
SKEWNESS_FOR_LOG = 1.0


@dataclass(frozen=True, slots=True)
class _NumericColumn:
    name: str
    log_transform: bool
    center: float
    scale: float
    fill_value: float
    missing_indicator: bool


@dataclass(frozen=True, slots=True)
class _CategoricalColumn:
    name: str
    categories: tuple[str, ...]


class Preprocessor:
    """Turn a feature table into a float32 matrix for the network.

    Parameters
    ----------
    max_categories
        Most one-hot columns per categorical feature (besides ``__other__``).
    min_category_count
        A category needs this many training customers to get its own column.
    clip
        Standardised values are clipped to ``[-clip, clip]``.
    """

    def __init__(
        self, *, max_categories: int = 30, min_category_count: int = 10, clip: float = 5.0
    ) -> None:
        if max_categories < 1 or min_category_count < 1 or clip <= 0:
            raise ConfigError(
                "max_categories and min_category_count must be at least 1 and clip positive."
            )
        self.max_categories = max_categories
        self.min_category_count = min_category_count
        self.clip = clip
        self.numeric_: list[_NumericColumn] | None = None
        self.categorical_: list[_CategoricalColumn] | None = None
        self.timing_: TimingModel | None = None

    def fit(self, features: pd.DataFrame, *, timing: TimingModel | None = None) -> Preprocessor:
        """Learn transforms from the training customers' features; with ``timing`` (the
        BG/NBD fitted on the same customers) also its inputs, when the features have
        ``frequency``, ``recency`` and ``T`` and no column of the inputs' names."""
        if len(features) == 0:
            raise DataError("Cannot fit preprocessing on an empty feature table.")
        features = features.rename(columns=str)
        self.timing_ = None
        if (
            timing is not None
            and all(column in features.columns for column in TIMING_COLUMNS)
            and not any(name in features.columns for name in TIMING_INPUTS)
        ):
            self.timing_ = timing
            features = self.with_derived(features)
        numeric: list[_NumericColumn] = []
        categorical: list[_CategoricalColumn] = []
        for column in features.columns:
            values = features[column]
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                numeric.append(self._fit_numeric(str(column), values.astype("float64")))
            else:
                counts = values.astype("string").value_counts(dropna=True)
                kept = counts[counts >= self.min_category_count].index[: self.max_categories]
                categorical.append(_CategoricalColumn(str(column), tuple(str(v) for v in kept)))
        self.numeric_ = numeric
        self.categorical_ = categorical
        return self

    def _fit_numeric(self, name: str, values: pd.Series) -> _NumericColumn:
        present = values[np.isfinite(values)]
        log_transform = bool(len(present) > 2 and abs(float(present.skew())) > SKEWNESS_FOR_LOG)
        transformed = _signed_log1p(present.to_numpy()) if log_transform else present.to_numpy()
        if transformed.size == 0:
            center, scale, fill = 0.0, 1.0, 0.0
        else:
            center = float(transformed.mean())
            scale = float(transformed.std())
            fill = float(np.median(transformed))
        return _NumericColumn(
            name=name,
            log_transform=log_transform,
            center=center,
            scale=scale if scale > 1e-12 else 1.0,
            fill_value=fill,
            missing_indicator=bool(len(present) < len(values)),
        )

    def _check_fitted(self) -> tuple[list[_NumericColumn], list[_CategoricalColumn]]:
        if self.numeric_ is None or self.categorical_ is None:
            raise NotFittedError("The preprocessing is not fitted yet; call fit first.")
        return self.numeric_, self.categorical_

    @property
    def derived_(self) -> tuple[str, ...]:
        """The numeric columns computed rather than read (the BG/NBD inputs, when fitted)."""
        return TIMING_INPUTS if self.timing_ is not None else ()

    @property
    def input_columns_(self) -> list[str]:
        """Feature columns the preprocessing expects, in order."""
        numeric, categorical = self._check_fitted()
        derived = self.derived_
        return [c.name for c in numeric if c.name not in derived] + [c.name for c in categorical]

    def with_derived(self, features: pd.DataFrame) -> pd.DataFrame:
        """``features`` with the derived columns (:attr:`derived_`) appended."""
        if self.timing_ is None:
            return features
        btyd = {
            column: pd.to_numeric(features[column], errors="coerce").to_numpy(np.float64)
            for column in TIMING_COLUMNS
        }
        return features.assign(**self._derived(btyd))

    def _derived(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The derived columns (:attr:`derived_`) of numeric ``columns``; none without timing."""
        if self.timing_ is None:
            return {}
        return self.timing_.inputs(
            *(np.asarray(columns[column], dtype=np.float64) for column in TIMING_COLUMNS)
        )

    @property
    def feature_names_out_(self) -> list[str]:
        """Names of the matrix columns produced by :meth:`transform`."""
        numeric, categorical = self._check_fitted()
        names = [c.name for c in numeric]
        names += [f"{c.name}__missing" for c in numeric if c.missing_indicator]
        for column in categorical:
            names += [f"{column.name}={value}" for value in column.categories]
            names.append(f"{column.name}={OTHER_CATEGORY}")
        return names

    @property
    def feature_owners_(self) -> list[str]:
        """Input column that each matrix column comes from, aligned with feature_names_out_."""
        numeric, categorical = self._check_fitted()
        owners = [c.name for c in numeric]
        owners += [c.name for c in numeric if c.missing_indicator]
        for column in categorical:
            owners += [column.name] * (len(column.categories) + 1)
        return owners

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """The float32 design matrix, columns as in :attr:`feature_names_out_`.

        Raises
        ------
        DataError
            ``features`` lacks columns the preprocessing was fitted on (they are all named).
        """
        numeric, categorical = self._check_fitted()
        features = features.rename(columns=str)
        missing = [name for name in self.input_columns_ if name not in features.columns]
        if missing:
            raise DataError(
                f"The data lacks {len(missing)} feature(s) the model was trained with: "
                f"{missing}. Provide the same inputs (e.g. the same customer-attributes "
                "columns) as at training time."
            )
        columns: dict[str, np.ndarray] = {}
        derived = self.derived_
        for column in numeric:
            if column.name in derived:
                continue
            columns[column.name] = pd.to_numeric(features[column.name], errors="coerce").to_numpy(
                np.float64
            )
        for category_column in categorical:
            text = features[category_column.name].astype("string")
            values = np.array(text.astype(object), dtype=object)
            values[text.isna().to_numpy(bool)] = None
            columns[category_column.name] = values
        return self._matrix(columns, len(features))

    def transform_arrays(self, columns: Mapping[str, np.ndarray], size: int) -> np.ndarray:
        """:meth:`transform` of ready columns (no pandas): numeric columns as float64 arrays
        (NaN = missing), categorical ones as object arrays of ``str`` or ``None``.

        The scoring service uses this for requests of a few customers, where building and
        converting a pandas frame would cost more than the network.
        """
        missing = [name for name in self.input_columns_ if name not in columns]
        if missing:
            raise DataError(f"The data lacks the feature(s) {missing}.")
        return self._matrix(columns, size)

    def _matrix(self, columns: Mapping[str, np.ndarray], size: int) -> np.ndarray:
        numeric, categorical = self._check_fitted()
        columns = {**columns, **self._derived(columns)}
        blocks: list[np.ndarray] = []
        if numeric:
            # All numeric columns at once (the same operations, element by element, as one
            # column at a time; a request of one customer pays per numpy call, not per value).
            values = np.empty((size, len(numeric)), dtype=np.float64)
            for position, column in enumerate(numeric):
                values[:, position] = columns[column.name]
            absent = ~np.isfinite(values)
            logged = np.array([column.log_transform for column in numeric])
            if logged.any():
                values = np.where(logged, _signed_log1p(values), values)
            fill = np.array([column.fill_value for column in numeric])
            center = np.array([column.center for column in numeric])
            scale = np.array([column.scale for column in numeric])
            values = np.where(absent, fill, values)
            blocks.append(np.clip((values - center) / scale, -self.clip, self.clip))
            flagged = [i for i, column in enumerate(numeric) if column.missing_indicator]
            blocks.append(absent[:, flagged].astype(np.float64))
        for category_column in categorical:
            text = np.asarray(columns[category_column.name], dtype=object)
            known = np.zeros(size, dtype=bool)
            for category in category_column.categories:
                match = text == category
                known |= match
                blocks.append(match.astype(np.float64)[:, None])
            blocks.append((~known).astype(np.float64)[:, None])
        if not blocks:
            return np.zeros((size, 0), dtype=np.float32)
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Fitted state as JSON-ready data."""
        numeric, categorical = self._check_fitted()
        return {
            "format": "clv-preprocess-1",
            "max_categories": self.max_categories,
            "min_category_count": self.min_category_count,
            "clip": self.clip,
            "numeric": [
                {
                    "name": c.name,
                    "log_transform": c.log_transform,
                    "center": c.center,
                    "scale": c.scale,
                    "fill_value": c.fill_value,
                    "missing_indicator": c.missing_indicator,
                }
                for c in numeric
            ],
            "categorical": [
                {"name": c.name, "categories": list(c.categories)} for c in categorical
            ],
            # The BG/NBD whose inputs are computed (absent: none are).
            **({"timing": self.timing_.to_dict()} if self.timing_ is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted preprocessing from :meth:`to_dict` output."""
        if not isinstance(data, dict) or data.get("format") != "clv-preprocess-1":
            raise DataError(
                "preprocess.json is not a CLV preprocessing file (format clv-preprocess-1)."
            )
        try:
            preprocessor = cls(
                max_categories=int(data["max_categories"]),
                min_category_count=int(data["min_category_count"]),
                clip=float(data["clip"]),
            )
            preprocessor.numeric_ = [
                _NumericColumn(
                    name=str(c["name"]),
                    log_transform=bool(c["log_transform"]),
                    center=float(c["center"]),
                    scale=float(c["scale"]),
                    fill_value=float(c["fill_value"]),
                    missing_indicator=bool(c["missing_indicator"]),
                )
                for c in data["numeric"]
            ]
            preprocessor.categorical_ = [
                _CategoricalColumn(str(c["name"]), tuple(str(v) for v in c["categories"]))
                for c in data["categorical"]
            ]
            timing = data.get("timing")
            preprocessor.timing_ = None if timing is None else TimingModel.from_dict(timing)
        except (KeyError, TypeError, ValueError, ConfigError) as error:
            raise DataError(f"preprocess.json is damaged: {error!r}.") from error
        return preprocessor


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: compresses heavy tails, keeps sign and zero."""
    with np.errstate(invalid="ignore"):
        return np.sign(values) * np.log1p(np.abs(values))
