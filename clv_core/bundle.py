"""Model bundles: a trained CLV model as a folder (or one .zip) without any pickle.

A bundle holds exactly three files:

* ``model.keras`` - the Keras network (all members), loaded with ``safe_mode=True`` so a
  bundle carrying a Lambda layer (arbitrary code) is refused;
* ``preprocess.json`` - the fitted preprocessing;
* ``meta.json`` - feature names in order, the model configuration, the feature windows,
  cutoff / as-of date and horizon, calibration, training metrics, the input it scores
  (``input.shape``: ``transactions``, or ``customer_table`` with the table's id and target
  column names and every column with its type and unit) and library versions.

Any other file (a ``.pkl`` or ``.joblib`` above all) makes the bundle invalid: loading it is
refused with a message that says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from clv_core import __version__
from clv_core.calibration import calibrator_from_dict
from clv_core.config import MlpConfig
from clv_core.errors import ConfigError, DataError, NotFittedError
from clv_core.features import FeatureOptions
from clv_core.kinds import InputShape
from clv_core.limits import ZIP_ERRORS, format_bytes, short_error, verify_zip_members
from clv_core.mlp import ClvMlp, import_keras
from clv_core.preprocessing import Preprocessor
from clv_core.validation.customers import TableSpec
from clv_core.value import TimingModel

__all__ = ["BUNDLE_FILES", "BundleInfo", "load_bundle", "save_bundle", "zip_bundle"]

BUNDLE_FORMAT = "clv-bundle-1"
MODEL_FILE = "model.keras"
PREPROCESS_FILE = "preprocess.json"
META_FILE = "meta.json"
BUNDLE_FILES = (MODEL_FILE, PREPROCESS_FILE, META_FILE)
# What a Keras 3 .keras archive contains; anything else inside it is refused too.
_KERAS_ARCHIVE_FILES = {"config.json", "metadata.json", "model.weights.h5"}
_MIB = 1 << 20
# The most each file may hold, read from the zip directory (or the folder) before anything is
# inflated. A workbench bundle of the largest network it trains is far smaller: its meta.json
# and the Keras config are kilobytes, preprocess.json grows with the category levels.
MEMBER_LIMITS = {META_FILE: 4 * _MIB, PREPROCESS_FILE: 64 * _MIB, MODEL_FILE: 1024 * _MIB}
_KERAS_MEMBER_LIMITS = {
    "config.json": 16 * _MIB,
    "metadata.json": 1 * _MIB,
    "model.weights.h5": 1024 * _MIB,
}
# JSON nested deeper than this is not a bundle (the workbench writes depth 4 at most).
MAX_JSON_DEPTH = 32
# Building the network allocates its weights before they are read, so the sizes its config
# declares must fit what the weights file holds: an estimate of at most this many times the
# weights file (plus a small allowance) is accepted.
_WEIGHTS_ALLOWANCE = 4
_WEIGHTS_SLACK_BYTES = 64 * _MIB


@dataclass(frozen=True, slots=True)
class BundleInfo:
    """What a bundle says about the model, besides the model itself.

    ``table`` is the per-customer table's columns for a model trained on such a table (its
    ``input_shape`` is then :attr:`InputShape.CUSTOMER_TABLE`); ``None`` for a model trained on
    a transaction log, whose features are rebuilt from orders.
    """

    cutoff: dt.date
    horizon_days: int
    feature_options: FeatureOptions
    training: dict[str, Any]
    meta: dict[str, Any]
    table: TableSpec | None = None

    @property
    def input_shape(self) -> InputShape:
        """What the model scores: a transaction log or a per-customer table."""
        return InputShape.TRANSACTIONS if self.table is None else InputShape.CUSTOMER_TABLE


def save_bundle(
    model: ClvMlp,
    folder: Path,
    *,
    cutoff: dt.date,
    horizon_days: int,
    feature_options: FeatureOptions,
    training: dict[str, Any] | None = None,
    table: TableSpec | None = None,
    lineage: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` as a bundle folder and return its path.

    Parameters
    ----------
    model
        A fitted :class:`~clv_core.mlp.ClvMlp`.
    folder
        Created if needed; existing bundle files in it are replaced.
    cutoff
        The scoring cutoff the model was trained for (deployment: the ``as_of`` date).
    horizon_days
        The label horizon the model predicts.
    feature_options
        Windows used to build the features; scoring rebuilds features the same way.
    training
        Facts about training to keep (metrics on validation customers, row counts, ...).
    table
        For a model trained on a per-customer table: its columns, their types and units and
        the target's name (recorded as ``meta.json``'s ``input``); scoring reads new customers
        against it.
    lineage
        For a retrained bundle: its parent, the comparison that promoted it, the data range
        and the chain of earlier bundles (``meta.json``'s ``lineage``).
    """
    if model.network_ is None or model.preprocessor_ is None or model.feature_columns_ is None:
        raise NotFittedError("Only a trained model can be saved; call fit first.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        model.network_.save(folder / MODEL_FILE)
        _write_json(folder / PREPROCESS_FILE, model.preprocessor_.to_dict())
        meta = {
            "format": BUNDLE_FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "feature_columns": model.feature_columns_,
            "config": model.config.to_dict(),
            "feature_options": {
                "window_days": list(feature_options.window_days),
                "trend_window_days": feature_options.trend_window_days,
            },
            "cutoff": cutoff.isoformat(),
            "horizon_days": horizon_days,
            "target_scale": model.target_scale_,
            "calibration": model.calibrator_.to_dict() if model.calibrator_ else None,
            "rank_maps": (
                [[x.tolist(), y.tolist()] for x, y in model.rank_maps_]
                if model.rank_maps_ is not None
                else None
            ),
            "cancelled": model.cancelled_,
            "training": training or {},
            "population": _population(model),
            # BG/NBD reads days of a transaction log; a table's columns of the same names
            # could be in any unit.
            "timing": model.timing_.to_dict()
            if model.timing_ is not None and table is None
            else None,
            "input": (
                {"shape": InputShape.TRANSACTIONS.value}
                if table is None
                else {"shape": InputShape.CUSTOMER_TABLE.value, **table.to_dict()}
            ),
            "versions": _versions(),
        }
        if lineage is not None:
            meta["lineage"] = lineage
        _write_json(folder / META_FILE, meta)
    except OSError as error:
        raise DataError(f"Could not write the bundle to '{folder}': {error}.") from error
    return folder


def zip_bundle(folder: Path) -> bytes:
    """The bundle folder's three files as one .zip archive (bytes, for a download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in BUNDLE_FILES:
            archive.write(folder / name, arcname=name)
    return buffer.getvalue()


def load_bundle(source: Path | bytes) -> tuple[ClvMlp, BundleInfo]:
    """Load a bundle from a folder, a .zip file or .zip bytes (an upload).

    Raises
    ------
    DataError
        The bundle is incomplete, contains any other file (e.g. a pickle), carries a Lambda
        layer or other unsafe content, or its JSON is damaged.
    """
    if isinstance(source, bytes):
        with tempfile.TemporaryDirectory(prefix="clv-bundle-") as directory, _no_paths(directory):
            _extract_zip(io.BytesIO(source), Path(directory))
            return _load_folder(Path(directory), "the uploaded bundle")
    path = Path(source)
    if path.is_dir():
        return _load_folder(path, str(path))
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="clv-bundle-") as directory, _no_paths(directory):
            with path.open("rb") as handle:
                _extract_zip(handle, Path(directory))
            return _load_folder(Path(directory), str(path))
    if not path.exists():
        raise DataError(f"The model bundle '{path}' does not exist.")
    raise DataError(
        f"'{path}' is not a model bundle: expected a folder or a .zip with {list(BUNDLE_FILES)}."
    )


@contextlib.contextmanager
def _no_paths(directory: str) -> Iterator[None]:
    """Messages about an extracted bundle name the bundle, never the temporary folder."""
    try:
        yield
    except DataError as error:
        text = str(error)
        if directory in text:
            raise DataError(
                text.replace(f"{directory}/", "").replace(directory, "the bundle")
            ) from None
        raise


def _extract_zip(handle: Any, target: Path) -> None:
    try:
        with zipfile.ZipFile(handle) as archive:
            entries = archive.infolist()
            if len(entries) > 2 * len(BUNDLE_FILES):
                raise DataError(
                    f"Refused: the model bundle archive holds {len(entries):,} entries; a "
                    f"bundle holds only {list(BUNDLE_FILES)}. Re-export it from the workbench."
                )
            names = [info.filename for info in entries if not info.filename.endswith("/")]
            _check_file_names([PurePosixPath(name).name for name in names], names)
            for info in entries:
                _check_member_size(info.filename, info.file_size, MEMBER_LIMITS)
            for name in names:
                if PurePosixPath(name).name != name:
                    raise DataError(
                        f"The bundle archive has the file '{name}' inside a folder; a bundle "
                        f"zip holds only {list(BUNDLE_FILES)} at its top level."
                    )
            # Every member is inflated once a megabyte at a time and must end at its declared
            # (already checked) size before anything reads it whole.
            verify_zip_members(archive, "The model bundle")
            for name in names:
                (target / name).write_bytes(archive.read(name))
    except ZIP_ERRORS as error:
        raise DataError(
            "The model bundle is not a valid .zip archive, or it is damaged "
            f"({short_error(error)})."
        ) from error


def _check_member_size(name: str, size: int, limits: dict[str, int]) -> None:
    """Refuse a bundle file larger than its limit (declared by the archive, before reading)."""
    limit = limits.get(PurePosixPath(name).name)
    if limit is not None and size > limit:
        raise DataError(
            f"Refused: {PurePosixPath(name).name} in the model bundle is {format_bytes(size)}, "
            f"more than the {format_bytes(limit)} such a file may hold (nothing was "
            "decompressed). A bundle made by the workbench is far smaller; re-export it."
        )


def _check_file_names(names: list[str], shown: list[str]) -> None:
    unexpected = sorted(set(names) - set(BUNDLE_FILES))
    if unexpected:
        pickles = [n for n in unexpected if n.endswith((".pkl", ".pickle", ".joblib", ".npy"))]
        reason = (
            " It contains pickled data, which can run arbitrary code when loaded."
            if pickles
            else ""
        )
        raise DataError(
            f"Refused: the model bundle contains unexpected file(s) {unexpected}.{reason} "
            f"A bundle holds only {list(BUNDLE_FILES)}; re-export it from the workbench."
        )
    missing = sorted(set(BUNDLE_FILES) - set(names))
    if missing:
        raise DataError(
            f"The model bundle is incomplete: {missing} missing (found {sorted(shown)})."
        )


def _load_folder(folder: Path, shown_name: str) -> tuple[ClvMlp, BundleInfo]:
    """Check a bundle folder's contents, then load its network, meta.json and preprocessing."""
    _check_folder_files(folder)
    meta = _read_meta(folder, shown_name)
    _check_keras_archive(folder / MODEL_FILE)
    network = _load_network(folder / MODEL_FILE, shown_name)
    config = _meta_config(meta, shown_name)
    model, preprocessor, info = _restore_model(folder, meta, config, network, shown_name)
    _check_shapes(model, preprocessor, config, network, shown_name)
    return model, info


def _check_folder_files(folder: Path) -> None:
    """Refuse sub-folders, unexpected or missing files, and files over their size limit."""
    folders = sorted(path.name for path in folder.iterdir() if path.is_dir())
    if folders:
        raise DataError(
            f"Refused: the model bundle contains sub-folder(s) {folders}. A bundle holds only "
            f"{list(BUNDLE_FILES)}; re-export it from the workbench."
        )
    names = [path.name for path in folder.iterdir() if path.is_file()]
    _check_file_names(names, names)
    for name in names:
        _check_member_size(name, (folder / name).stat().st_size, MEMBER_LIMITS)


def _read_meta(folder: Path, shown_name: str) -> dict[str, Any]:
    """The bundle's meta.json, refused unless it declares the bundle format."""
    meta = _read_json(folder / META_FILE, shown_name)
    if meta.get("format") != BUNDLE_FORMAT:
        raise DataError(
            f"{shown_name} is not a CLV model bundle (meta.json format is "
            f"{meta.get('format')!r}, expected {BUNDLE_FORMAT!r})."
        )
    return meta


def _load_network(path: Path, shown_name: str) -> Any:
    """The Keras network from ``model.keras``, loaded in safe mode (no Lambda layers)."""
    keras = import_keras()
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except ValueError as error:
        text = str(error)
        if "Lambda" in text or "safe_mode" in text or "unsafe" in text:
            raise DataError(
                "Refused: the model in this bundle contains a Lambda layer or other code that "
                "would run on loading. Bundles made by the workbench never do; re-export it."
            ) from error
        raise DataError(f"The model in {shown_name} cannot be loaded: {text}") from error
    except (OSError, TypeError, KeyError) as error:
        # h5py raises OSError for damaged weights; Keras raises TypeError/KeyError for
        # configurations naming unknown classes or missing entries.
        raise DataError(
            f"model.keras in {shown_name} is damaged or not made by the workbench: {error}"
        ) from error


def _meta_config(meta: dict[str, Any], shown_name: str) -> MlpConfig:
    """The model configuration stored in meta.json."""
    try:
        stored = dict(meta["config"])
        # Bundles from before the Tweedie and ranking terms, the BG/NBD inputs and the moment
        # ordering were trained without them (whatever the defaults are now).
        stored.setdefault("tweedie_weight", 0.0)
        stored.setdefault("rank_weight", 0.0)
        stored.setdefault("btyd_inputs", False)
        stored.setdefault("ranking_moment", 1.0)
        return MlpConfig.from_dict(stored)
    except (KeyError, ConfigError) as error:
        raise DataError(
            f"meta.json in {shown_name} has no valid model configuration: {error}"
        ) from error


def _restore_model(
    folder: Path, meta: dict[str, Any], config: MlpConfig, network: Any, shown_name: str
) -> tuple[ClvMlp, Preprocessor, BundleInfo]:
    """The model with its learned state, its preprocessing and the bundle's info from meta.json."""
    try:
        model = ClvMlp(config)
        model.network_ = network
        preprocessor = Preprocessor.from_dict(_read_json(folder / PREPROCESS_FILE, ""))
        model.preprocessor_ = preprocessor
        model.feature_columns_ = [str(name) for name in meta["feature_columns"]]
        model.target_scale_ = float(meta["target_scale"])
        model.cancelled_ = bool(meta.get("cancelled", False))
        calibration = meta.get("calibration")
        model.calibrator_ = calibrator_from_dict(calibration) if calibration else None
        model.rank_maps_ = _rank_maps(model, meta.get("rank_maps"), shown_name)
        _restore_population(model, preprocessor, meta.get("population"))
        timing = meta.get("timing")
        model.timing_ = TimingModel.from_dict(timing) if timing else None
        options = meta["feature_options"]
        info = BundleInfo(
            cutoff=dt.date.fromisoformat(meta["cutoff"]),
            horizon_days=int(meta["horizon_days"]),
            feature_options=FeatureOptions(
                window_days=tuple(int(d) for d in options["window_days"]),
                trend_window_days=int(options["trend_window_days"]),
            ),
            training=dict(meta.get("training", {})),
            meta=meta,
            table=_table_spec(meta),
        )
    except (KeyError, TypeError, ValueError, ConfigError) as error:
        raise DataError(f"meta.json in {shown_name} is damaged: {error!r}.") from error
    return model, preprocessor, info


def _rank_maps(
    model: ClvMlp, stored: Any, shown_name: str
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """The members' rank maps of ``meta.json``, checked; ``None`` without a rank head."""
    if not model.rank_head:
        return None
    if stored is None:
        raise DataError(
            f"{shown_name} was trained with an earlier form of the ranking term (rank_weight), "
            "which scoring no longer reads. Train the model again."
        )
    maps = []
    for x_values, y_values in stored:
        x = np.asarray(x_values, dtype=np.float64)
        y = np.asarray(y_values, dtype=np.float64)
        if (
            x.ndim != 1
            or x.shape != y.shape
            or x.size == 0
            or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)))
            or np.any(np.diff(x) <= 0)
            or np.any(np.diff(y) < 0)
        ):
            raise ValueError("rank_maps must be increasing knots of finite numbers")
        maps.append((x, y))
    return maps


def _population(model: ClvMlp) -> dict[str, Any] | None:
    """The training customers as a scoring service needs them (no ids): the percentiles of
    their predicted CLV and a sample of their feature rows (``null`` = missing)."""
    if model.value_percentiles_ is None or model.background_ is None:
        return None
    rows = model.background_.astype(object).where(model.background_.notna(), None)
    return {
        "value_percentiles": [float(value) for value in model.value_percentiles_],
        "background": {
            "columns": [str(column) for column in rows.columns],
            "rows": [[_plain(value) for value in row] for row in rows.itertuples(index=False)],
        },
    }


def _plain(value: Any) -> Any:
    """A feature value as JSON: numbers as float, text as str, missing as None."""
    if value is None:
        return None
    if isinstance(value, int | float) or hasattr(value, "dtype"):
        try:
            return float(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _restore_population(
    model: ClvMlp, preprocessor: Preprocessor, population: dict[str, Any] | None
) -> None:
    """:func:`_population`'s record back on the model (bundles before it have none)."""
    if not population:
        return
    percentiles = np.asarray(population["value_percentiles"], dtype=np.float64)
    if percentiles.shape != (101,) or not np.all(np.isfinite(percentiles)):
        raise ValueError("population.value_percentiles must be 101 finite numbers")
    background = population["background"]
    frame = pd.DataFrame(background["rows"], columns=background["columns"], dtype=object)
    numeric = {column.name for column in preprocessor.numeric_ or []}
    for column in frame.columns:
        if column in numeric:
            frame[column] = pd.to_numeric(frame[column], errors="raise").astype(np.float64)
        else:
            frame[column] = frame[column].astype("string")
    model.value_percentiles_ = percentiles
    model.background_ = frame


def _table_spec(meta: dict[str, Any]) -> TableSpec | None:
    """The per-customer table's spec of ``meta.json``; ``None`` for a log (or an older bundle)."""
    described = meta.get("input") or {"shape": InputShape.TRANSACTIONS.value}
    if InputShape(described["shape"]) is InputShape.TRANSACTIONS:
        return None
    return TableSpec.from_dict(described)


def _check_shapes(
    model: ClvMlp, preprocessor: Preprocessor, config: MlpConfig, network: Any, shown_name: str
) -> None:
    """Refuse preprocessing or a network whose widths do not match each other or meta.json."""
    preprocess_width = len(preprocessor.feature_names_out_)
    network_width = int(np.prod(network.input_shape[1:]))
    if preprocess_width != network_width:
        raise DataError(
            f"preprocess.json in {shown_name} does not belong to its network: it produces "
            f"{preprocess_width} inputs, the network expects {network_width}."
        )
    expected_outputs = model.outputs_per_member * config.ensemble_size
    if int(np.prod(network.output_shape[1:])) != expected_outputs:
        raise DataError(
            f"The network in {shown_name} does not match its meta.json "
            f"({network.output_shape[1:]} outputs, expected {expected_outputs})."
        )
    if model.rank_maps_ is not None and len(model.rank_maps_) != config.ensemble_size:
        raise DataError(
            f"meta.json in {shown_name} does not match its network: {len(model.rank_maps_)} "
            f"rank maps for {config.ensemble_size} members."
        )


def _check_keras_archive(path: Path) -> None:
    if not zipfile.is_zipfile(path):
        raise DataError(
            "model.keras in the bundle is not a Keras 3 archive (legacy .h5 files and other "
            "formats are not accepted)."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            inside = {info.filename for info in entries}
            unexpected = sorted(inside - _KERAS_ARCHIVE_FILES)
            if unexpected:
                raise DataError(
                    f"Refused: model.keras contains unexpected file(s) {unexpected[:5]}; a Keras "
                    f"archive made by the workbench holds only {sorted(_KERAS_ARCHIVE_FILES)}."
                )
            for info in entries:
                _check_member_size(info.filename, info.file_size, _KERAS_MEMBER_LIMITS)
            if "config.json" not in inside or "model.weights.h5" not in inside:
                raise DataError("model.keras in the bundle is incomplete (no config or weights).")
            verify_zip_members(archive, "model.keras in the bundle")
            config = _parse_json(archive.read("config.json"), "config.json in model.keras")
            weights_size = archive.getinfo("model.weights.h5").file_size
    except ZIP_ERRORS as error:
        raise DataError(f"model.keras in the bundle is damaged ({short_error(error)}).") from error
    _check_network_size(config, weights_size)


def _check_network_size(config: dict[str, Any], weights_size: int) -> None:
    """Refuse a network whose declared layer sizes need far more memory than its weights hold.

    Keras allocates every layer's weights while it rebuilds the network, before reading the
    weights file, so a config declaring a billion units would take the memory first. The
    estimate is an upper bound for the dense networks the workbench builds: each dense layer's
    units times the widest input or layer of the network.
    """
    units: list[int] = []
    widths: list[int] = []

    def visit(node: object) -> None:
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                value = item.get("units")
                if isinstance(value, int) and not isinstance(value, bool):
                    units.append(value)
                shape = item.get("batch_shape") or item.get("batch_input_shape")
                if isinstance(shape, list):
                    widths.extend(v for v in shape if isinstance(v, int) and v > 0)
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)

    visit(config)
    widest = max([*units, *widths, 1])
    estimate = 4 * (sum(units) * widest + sum(units))
    allowed = _WEIGHTS_ALLOWANCE * weights_size + _WEIGHTS_SLACK_BYTES
    if any(value < 1 for value in units) or estimate > allowed:
        raise DataError(
            "Refused: the network in this bundle declares layers of "
            f"{max(units, default=0):,} units (about {format_bytes(estimate)} of weights) but "
            f"its weights file holds {format_bytes(weights_size)}; the bundle is damaged or was "
            "not made by the workbench. Re-export it."
        )


def _read_json(path: Path, shown_name: str) -> dict[str, Any]:
    where = f"{path.name} in {shown_name or 'the bundle'}"
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"{where} cannot be read: {error.strerror}.") from error
    return _parse_json(data, where)


def _parse_json(data: bytes, where: str) -> dict[str, Any]:
    """A JSON object from bytes, refused when damaged or nested deeper than a bundle's."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{where} is damaged: {error}.") from error
    except RecursionError:
        parsed = _TOO_DEEP  # nested deeper than Python's parser goes: refused just below
    if parsed is _TOO_DEEP or _json_depth(parsed) > MAX_JSON_DEPTH:
        raise DataError(
            f"Refused: {where} is nested more than {MAX_JSON_DEPTH} levels deep, which no "
            "bundle made by the workbench is. Re-export it."
        )
    if not isinstance(parsed, dict):
        raise DataError(f"{where} is not a JSON object.")
    return parsed


_TOO_DEEP = object()


def _json_depth(value: object) -> int:
    """How deeply lists and objects nest in ``value`` (without recursion)."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _versions() -> dict[str, str]:
    versions = {"clv_core": __version__}
    for package in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "pandas"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions
