"""The steps the pages trigger, as functions of the session state.

Each function reads and updates :class:`~clv_ui.state.WorkbenchState` and calls ``clv_core``
(through the cached wrappers where the inputs are plain data). They raise
:class:`~clv_core.errors.ClvError` for anything the analyst can fix; pages show it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from clv_core.columns import ColumnMapping, detect_input_shape
from clv_core.evaluation import EvaluationResult, EvaluationSettings
from clv_core.explain import ExplainSettings, Explanation
from clv_core.features import FeatureOptions
from clv_core.kinds import InputShape
from clv_core.language import Language
from clv_core.validation import ValidationOptions
from clv_ui import cache
from clv_ui.forms import SegmentSettings, TrainingRequest
from clv_ui.i18n import t
from clv_ui.jobs import TrainingJob, run_and_wait, session_folder, start_training_job
from clv_ui.shell import CUSTOMERS_INPUT, ORDER_LINES_INPUT, Upload, content_digest
from clv_ui.state import DataState, WorkbenchState

if TYPE_CHECKING:
    from clv_core.loading import LoadedTable
    from clv_core.tasks import Challenger
    from clv_core.usecases import TableScores
    from clv_core.usecases.monitoring import MonitorReport
    from clv_core.value import ValuePlan, ValueSettings

__all__ = [
    "SAMPLE_CUSTOMERS",
    "SAMPLE_TRANSACTIONS",
    "apply_mapping",
    "bundle_zip",
    "check_table",
    "default_windows",
    "explain_result",
    "forget_new_customers",
    "ingest_customers",
    "ingest_order_lines",
    "ingest_table",
    "load_bundle_upload",
    "load_new_customers",
    "read_uploads",
    "score_and_segment",
    "score_table_and_segment",
    "scores_tables",
    "set_options",
    "set_windows",
    "start_training",
    "table_to_score",
    "table_top_drivers",
    "use_sample",
]

SAMPLE_TRANSACTIONS = "transactions.csv"
SAMPLE_CUSTOMERS = "customers.csv"
TRANSACTION_ROLES = (
    "customer_id",
    "order_date",
    "order_id",
    "status",
    "currency",
    "amount",
    "quantity",
    "unit_price",
    "discount",
    "cost",
)
CUSTOMER_TABLE_ROLES = ("customer_id", "target", "signup_date")

# Called with a catalogue key ("data.stage_read", ...) and the file's name before each step.
StageCallback = Callable[[str, str], None]


def _no_stage(key: str, name: str) -> None:
    """The default :data:`StageCallback`: report nothing."""


def default_windows(first: pd.Timestamp, last: pd.Timestamp) -> tuple[dt.date, int]:
    """A cutoff and horizon that fit the data: a year when there are two, else half the span."""
    span = max(int((last.normalize() - first.normalize()).days), 2)
    horizon = 365 if span >= 730 else max(1, span // 2)
    return (last.normalize() - pd.Timedelta(days=horizon)).date(), horizon


def ingest_table(
    state: WorkbenchState,
    shape: InputShape,
    data: bytes,
    file_name: str,
    limit_mb: int,
    on_stage: StageCallback = _no_stage,
    *,
    digest: str = "",
) -> None:
    """Load a main table (transactions or a per-customer table), detect roles and validate.

    ``digest`` is the content digest of ``data`` when the caller has it already. An order-lines
    file already loaded is joined to a new transaction table (a two-file export).
    """
    on_stage("data.stage_read", file_name)
    table = cache.load_upload(data, file_name, limit_mb)
    on_stage("data.stage_columns", file_name)
    digest = digest or content_digest(data)
    mapping = cache.detect_mapping(table.frame, (digest, file_name))
    if shape is InputShape.CUSTOMER_TABLE and mapping.target is not None:
        shape = detect_input_shape(table.frame, mapping)
    transactions = shape is InputShape.TRANSACTIONS
    previous = state.data
    # The sample's attributes go with the sample; those of an input stay with a new log.
    keep_customers = transactions and not previous.from_sample
    state.data = DataState(
        shape=shape,
        table=table,
        table_digest=digest,
        customers=previous.customers if keep_customers else None,
        customers_digest=previous.customers_digest if keep_customers else "",
        lines_table=previous.lines_table if transactions else None,
        lines_digest=previous.lines_digest if transactions else "",
    )
    state.clear_models()
    if transactions:
        _join_and_detect(state, file_name, on_stage)
        return
    on_stage("data.stage_validate", file_name)
    apply_mapping(state, mapping)


def ingest_order_lines(
    state: WorkbenchState,
    data: bytes,
    file_name: str,
    limit_mb: int,
    on_stage: StageCallback = _no_stage,
    *,
    digest: str = "",
    join: bool = True,
) -> None:
    """Load the order-lines (or payments) file of a two-file export and join it to the orders.

    ``join=False`` only keeps the file, for an orders file that is read next.
    """
    on_stage("data.stage_read", file_name)
    state.data.lines_table = cache.load_upload(data, file_name, limit_mb)
    state.data.lines_digest = digest or content_digest(data)
    # A per-customer table has no lines to join: its models stay.
    if state.data.table is not None and state.data.shape is InputShape.TRANSACTIONS:
        state.clear_models()
        if join:
            _join_and_detect(state, file_name, on_stage)


def _join_and_detect(state: WorkbenchState, file_name: str, on_stage: StageCallback) -> None:
    """Join the orders with their lines (when there are lines), detect roles and validate."""
    data = state.data
    if data.table is None:
        return
    # Cleared first: a join that fails leaves nothing of an earlier one to show.
    data.mapping = data.transactions = data.source = None
    on_stage("data.stage_columns", file_name)
    data.source = cache.join_cached(data.table, data.lines_table, data.source_key())
    mapping = cache.detect_source_mapping(data.source, data.source_key())
    on_stage("data.stage_validate", file_name)
    apply_mapping(state, mapping)


def apply_mapping(state: WorkbenchState, mapping: ColumnMapping) -> None:
    """Validate the loaded table with ``mapping`` and reset the windows to the data's range."""
    data = state.data
    if data.table is None:
        return
    data.mapping = mapping
    roles = cache.mapping_overrides(mapping)
    name = data.table.source_name
    data.transactions = None
    data.customer_table = None
    state.clear_models()
    if data.shape is InputShape.CUSTOMER_TABLE:
        data.customer_table = cache.validate_customer_table_cached(
            data.table.frame, data.table_key(), roles, name, data.table.first_data_row
        )
        return
    if data.source is None:
        data.source = cache.join_cached(data.table, data.lines_table, data.source_key())
    options = data.options or ValidationOptions()
    transactions = cache.validate_transactions_cached(
        data.source, data.source_key(), roles, (options.combine_baskets, options.guest_ids)
    )
    data.transactions = transactions
    data.cutoff, data.horizon_days = default_windows(
        transactions.first_date, transactions.last_date
    )


def set_options(state: WorkbenchState, options: ValidationOptions) -> None:
    """Change the validation options (baskets, guest ids) and validate again."""
    data = state.data
    if options != (data.options or ValidationOptions()):
        data.options = options
        if data.mapping is not None:
            apply_mapping(state, data.mapping)


def check_table(state: WorkbenchState) -> None:
    """Raise again why a loaded table is not usable yet, so the message stays until it is fixed.

    A table whose mapping misses a role (or whose rows all fail validation) is kept, with its
    mapping selects, instead of being thrown away; this repeats the validation's verdict. It
    also validates again after an applied suggestion changed the options.
    """
    data = state.data
    if data.table is None or data.transactions is not None or data.customer_table is not None:
        return
    if data.shape is InputShape.TRANSACTIONS and (data.source is None or data.mapping is None):
        # The join failed (or a file was removed): make it again, which says why it fails.
        _join_and_detect(state, data.table.source_name, _no_stage)
    elif data.mapping is not None:
        apply_mapping(state, data.mapping)


def ingest_customers(
    state: WorkbenchState,
    data: bytes,
    file_name: str,
    limit_mb: int,
    on_stage: StageCallback = _no_stage,
    *,
    digest: str = "",
) -> None:
    """Load and validate the optional customer-attributes table (``digest`` as above)."""
    on_stage("data.stage_read", file_name)
    table = cache.load_upload(data, file_name, limit_mb)
    on_stage("data.stage_validate", file_name)
    digest = digest or content_digest(data)
    state.data.customers = cache.validate_customers_cached(
        table.frame, (digest, file_name), table.source_name, table.first_data_row
    )
    state.data.customers_digest = digest
    state.clear_models()


def use_sample(state: WorkbenchState, limit_mb: int, on_stage: StageCallback = _no_stage) -> None:
    """Load the bundled sample shop (transactions and customer attributes)."""
    state.data.lines_table, state.data.lines_digest = None, ""
    ingest_table(
        state,
        InputShape.TRANSACTIONS,
        cache.sample_bytes(SAMPLE_TRANSACTIONS),
        SAMPLE_TRANSACTIONS,
        limit_mb,
        on_stage,
    )
    ingest_customers(
        state, cache.sample_bytes(SAMPLE_CUSTOMERS), SAMPLE_CUSTOMERS, limit_mb, on_stage
    )
    state.data.from_sample = True


def read_uploads(
    state: WorkbenchState,
    shape: InputShape,
    uploads: Sequence[Upload],
    limit_mb: int,
    on_stage: StageCallback = _no_stage,
) -> None:
    """Read new files of the Data page's inputs (the main table before the attributes).

    A file that was read counts as seen even when its mapping is wrong (the mapping selects fix
    that); an unreadable one does not, so it is tried again and its error stays in view.
    """
    # The lines of a two-file export are read first, so that orders dropped in the same go are
    # joined to them once, instead of failing alone for want of money.
    order = {ORDER_LINES_INPUT: 0, CUSTOMERS_INPUT: 2}
    main_pending = any(upload.key not in order for upload in uploads)
    for upload in sorted(uploads, key=lambda upload: order.get(upload.key, 1)):
        try:
            if upload.key == CUSTOMERS_INPUT:
                ingest_customers(
                    state, upload.data, upload.name, limit_mb, on_stage, digest=upload.digest
                )
            elif upload.key == ORDER_LINES_INPUT:
                ingest_order_lines(
                    state,
                    upload.data,
                    upload.name,
                    limit_mb,
                    on_stage,
                    digest=upload.digest,
                    join=not main_pending,
                )
            else:
                ingest_table(
                    state, shape, upload.data, upload.name, limit_mb, on_stage, digest=upload.digest
                )
        finally:
            read = (state.data.table_digest, state.data.customers_digest, state.data.lines_digest)
            if upload.digest in read:
                state.uploads_seen[upload.key] = upload.file_id


def set_windows(state: WorkbenchState, cutoff: dt.date, horizon_days: int) -> None:
    """Change the cutoff or horizon; trained models no longer match and are forgotten."""
    data = state.data
    if (cutoff, horizon_days) != (data.cutoff, data.horizon_days):
        data.cutoff, data.horizon_days = cutoff, horizon_days
        state.clear_models()


def start_training(state: WorkbenchState, request: TrainingRequest) -> TrainingJob:
    """Queue an evaluation of every model with ``request`` on the server's workers."""
    from clv_core.usecases import EvaluationRequest, table_settings

    data = state.data
    if state.job is not None and not state.job.finished:
        state.job.discard()  # its result would be thrown away: free its worker now
    state.config, state.split = request.config, request.split
    if data.transactions is None and data.customer_table is not None:
        settings = table_settings(
            data.customer_table,
            EvaluationSettings(
                cutoff=dt.date.today(),
                horizon_days=data.horizon_days,
                split=request.split,
                config=request.config,
            ),
        )
        spec = EvaluationRequest(settings, table=data.customer_table)
    else:
        if data.transactions is None or data.cutoff is None:
            raise ValueError("start_training needs validated data; guard the page first.")
        settings = EvaluationSettings(
            cutoff=data.cutoff,
            horizon_days=data.horizon_days,
            split=request.split,
            config=request.config,
        )
        spec = EvaluationRequest(settings, data.transactions.frame, data.customers)
    state.job = start_training_job(state, spec, settings)
    return state.job


def explain_result(
    state: WorkbenchState, result: EvaluationResult, settings: ExplainSettings
) -> Explanation:
    """SHAP values of the test customers against the training customers of ``result``."""
    from clv_core.tasks import ExplainSpec
    from clv_core.usecases import evaluation_background

    data = state.data
    model_dir = state.models.get(result.settings.split)
    if model_dir is None:
        raise ValueError("explain_result needs a trained network; guard the page first.")
    if result.train_features is None and data.transactions is None:
        raise ValueError("explain_result needs the training customers; guard the page first.")
    background = evaluation_background(
        result,
        data.transactions.frame if data.transactions is not None else None,
        data.customers,
    )
    spec = ExplainSpec(model_dir, result.test_features, background, settings)
    explanation: Explanation = run_and_wait(
        state, "clv_core.tasks:explain_job", spec, t("explain.running")
    )
    state.explanation = explanation
    return explanation


def load_bundle_upload(state: WorkbenchState, data: bytes) -> None:
    """Load an uploaded model bundle (.zip): checked in a worker, kept in the session's folder."""
    from clv_core.tasks import CheckBundleSpec

    digest = content_digest(data)
    if digest == state.bundle_digest:
        return
    info = run_and_wait(
        state,
        "clv_core.tasks:check_bundle_job",
        CheckBundleSpec(data),
        t("segments.loading_bundle"),
    )
    path = session_folder(state) / f"bundle-{digest}.zip"
    path.write_bytes(data)
    if state.bundle_path is not None and state.bundle_path != path:
        state.bundle_path.unlink(missing_ok=True)
    state.bundle_path, state.bundle_info, state.bundle_digest = path, info, digest
    state.forget_scores()


def score_and_segment(
    state: WorkbenchState,
    *,
    use_bundle: bool,
    as_of: dt.date,
    settings: SegmentSettings,
    value: ValueSettings,
    language: Language,
) -> tuple[pd.DataFrame, pd.DataFrame, ValuePlan]:
    """Score every customer at ``as_of``, value and segment them; returns (segmented,
    features, value plan)."""
    from clv_core.tasks import ScoreSpec
    from clv_core.usecases import segment_scored, value_scored

    data = state.data
    model, horizon, options = _scoring_model(state, use_bundle=use_bundle)
    if data.transactions is None:
        raise ValueError("score_and_segment needs transactions; guard the page first.")
    key = (_model_key(state, use_bundle=use_bundle), as_of.isoformat())
    if key not in state.scores:
        spec = ScoreSpec(model, data.transactions.frame, as_of, data.customers, options)
        state.scores[key] = run_and_wait(
            state, "clv_core.tasks:score_job", spec, t("segments.scoring")
        )
    customers = data.customers
    scored, plan = value_scored(
        state.scores[key],
        horizon_days=horizon,
        settings=value,
        attributes=customers.frame if customers is not None else None,
    )
    segmented = segment_scored(
        scored,
        scheme=settings.scheme,
        horizon_days=horizon,
        language=language,
        churn_thresholds=settings.churn_thresholds,
    )
    return segmented, scored.features, plan


def _model_key(state: WorkbenchState, *, use_bundle: bool) -> str:
    """Which model scores: the bundle, or this session's network of the chosen split."""
    if use_bundle:
        return "bundle"
    result = state.result
    return f"trained-{result.settings.split}" if result is not None else "trained"


def _scoring_model(state: WorkbenchState, *, use_bundle: bool) -> tuple[Path, int, FeatureOptions]:
    """(bundle path, horizon, feature windows) of the uploaded bundle or of this session's
    network."""
    result = state.result
    if use_bundle and state.bundle_path is not None and state.bundle_info is not None:
        info = state.bundle_info
        return state.bundle_path, info.horizon_days, info.feature_options
    if result is not None and state.model_dir is not None:
        return state.model_dir, result.settings.horizon_days, result.settings.feature_options
    raise ValueError("scoring needs a model; guard the page first.")


def top_drivers(
    state: WorkbenchState,
    features: pd.DataFrame,
    *,
    use_bundle: bool,
    as_of: dt.date,
    language: Language,
) -> pd.DataFrame:
    """Every scored customer's three largest SHAP contributions in words (kept per session)."""
    from clv_core.tasks import DriversSpec

    key = (_model_key(state, use_bundle=use_bundle), as_of.isoformat(), language.value)
    if key not in state.drivers:
        model, _, _ = _scoring_model(state, use_bundle=use_bundle)
        if state.data.transactions is None:
            raise ValueError("top_drivers needs transactions; guard the page first.")
        # The same rule as the command line: the bundle's training customers as background.
        spec = DriversSpec(
            model, features, state.data.transactions.frame, state.data.customers, language
        )
        state.drivers[key] = run_and_wait(
            state, "clv_core.tasks:drivers_job", spec, t("segments.computing_drivers")
        )
    return state.drivers[key]


def load_new_customers(
    state: WorkbenchState, data: bytes, file_name: str, limit_mb: int, *, digest: str = ""
) -> None:
    """Read an uploaded table of new customers (checked against the model when scored)."""
    digest = digest or content_digest(data)
    if digest == state.new_customers_digest:
        return
    state.new_customers = cache.load_upload(data, file_name, limit_mb)
    state.new_customers_digest = digest
    state.forget_scores()


def forget_new_customers(state: WorkbenchState) -> None:
    """Drop the uploaded new customers (their input was cleared): the training table is next."""
    if state.new_customers is not None:
        state.new_customers, state.new_customers_digest = None, ""
        state.forget_scores()


def scores_tables(state: WorkbenchState, *, use_bundle: bool) -> bool:
    """Whether the chosen model scores per-customer tables (not transaction logs)."""
    if use_bundle and state.bundle_info is not None:
        return state.bundle_info.input_shape is InputShape.CUSTOMER_TABLE
    return state.data.customer_table is not None and not state.has_transactions


def table_to_score(state: WorkbenchState) -> tuple[LoadedTable, str] | None:
    """The uploaded new customers, else the session's training table; ``None`` when neither."""
    if state.new_customers is not None:
        return state.new_customers, state.new_customers_digest
    data = state.data
    if data.customer_table is not None and data.table is not None:
        return data.table, data.table_digest
    return None


def score_table_and_segment(
    state: WorkbenchState,
    *,
    use_bundle: bool,
    settings: SegmentSettings,
    value: ValueSettings,
    language: Language,
) -> tuple[pd.DataFrame, TableScores, ValuePlan]:
    """Score a per-customer table (new customers, else the training table), value and segment
    it; returns (segmented, scores, value plan)."""
    from clv_core.tasks import ScoreTableSpec
    from clv_core.usecases import segment_scored, value_scored

    model, horizon, _ = _scoring_model(state, use_bundle=use_bundle)
    chosen = table_to_score(state)
    if chosen is None:
        raise ValueError("score_table_and_segment needs a table; guard the page first.")
    table, digest = chosen
    key = (_model_key(state, use_bundle=use_bundle), digest)
    if key not in state.table_scores:
        state.table_scores[key] = run_and_wait(
            state,
            "clv_core.tasks:score_table_job",
            ScoreTableSpec(model, table),
            t("segments.scoring"),
        )
    scores = state.table_scores[key]
    scored, plan = value_scored(
        scores.scored,
        horizon_days=horizon,
        settings=value,
        attributes=scores.scored.features,
    )
    segmented = segment_scored(
        scored,
        scheme=settings.scheme,
        horizon_days=horizon,
        language=language,
        churn_thresholds=settings.churn_thresholds,
    )
    return segmented, scores, plan


def table_top_drivers(
    state: WorkbenchState,
    features: pd.DataFrame,
    *,
    use_bundle: bool,
    language: Language,
) -> pd.DataFrame:
    """Top drivers of a table's scored customers, as the command line computes them."""
    from clv_core.tasks import TableDriversSpec

    chosen = table_to_score(state)
    digest = chosen[1] if chosen is not None else ""
    key = (_model_key(state, use_bundle=use_bundle), f"table-{digest}", language.value)
    if key not in state.drivers:
        model, _, _ = _scoring_model(state, use_bundle=use_bundle)
        spec = TableDriversSpec(model, features, language)
        state.drivers[key] = run_and_wait(
            state, "clv_core.tasks:table_drivers_job", spec, t("segments.computing_drivers")
        )
    return state.drivers[key]


def _monitor_key(state: WorkbenchState, *, use_bundle: bool) -> tuple[str, str]:
    data = state.data
    digest = f"{data.table_digest}-{data.lines_digest}-{data.customers_digest}"
    return _model_key(state, use_bundle=use_bundle), digest


def _model_source(state: WorkbenchState, *, use_bundle: bool) -> str:
    """How a report names the monitored model."""
    if use_bundle and state.bundle_path is not None:
        return "uploaded bundle"
    return "this session's network"


def _kept_job(
    state: WorkbenchState,
    store: dict[tuple[str, str], Any],
    key: tuple[str, str],
    target: str,
    make_spec: Callable[[Path, str, Any], Any],
    label: str,
) -> Any:
    """Run a job on the chosen model and the session's log once; keep its result in ``store``."""
    data = state.data
    if data.transactions is None:
        raise ValueError(f"{target} needs transactions; guard the page first.")
    if key not in store:
        use_bundle = key[0] == "bundle"
        model, _, _ = _scoring_model(state, use_bundle=use_bundle)
        spec = make_spec(
            model, _model_source(state, use_bundle=use_bundle), data.transactions.frame
        )
        store[key] = run_and_wait(state, target, spec, label)
    return store[key]


def monitor_model(state: WorkbenchState, *, use_bundle: bool, language: Language) -> MonitorReport:
    """The monitoring report of the chosen model against the session's log (kept per model
    and data)."""
    from clv_core.tasks import MonitorSpec

    customers = state.data.customers
    return _kept_job(
        state,
        state.monitor_reports,
        _monitor_key(state, use_bundle=use_bundle),
        "clv_core.tasks:monitor_job",
        lambda model, source, frame: MonitorSpec(model, source, frame, customers, language),
        t("monitor.running"),
    )


def kept_report(state: WorkbenchState, *, use_bundle: bool) -> MonitorReport | None:
    """The report already made for the chosen model and data, if any."""
    return state.monitor_reports.get(_monitor_key(state, use_bundle=use_bundle))


def challenge_model(state: WorkbenchState, *, use_bundle: bool) -> Challenger:
    """Train a challenger to the chosen model on the session's log and compare them."""
    from clv_core.tasks import RetrainSpec

    customers = state.data.customers
    return _kept_job(
        state,
        state.challengers,
        _monitor_key(state, use_bundle=use_bundle),
        "clv_core.tasks:retrain_job",
        lambda model, source, frame: RetrainSpec(model, source, frame, customers),
        t("monitor.challenging"),
    )


def kept_challenger(state: WorkbenchState, *, use_bundle: bool) -> Challenger | None:
    """The challenger already trained for the chosen model and data, if any."""
    return state.challengers.get(_monitor_key(state, use_bundle=use_bundle))


def bundle_zip(model_dir: Path) -> bytes:
    """A trained network's bundle folder as a model bundle .zip (bytes for a download)."""
    from clv_core.bundle import zip_bundle

    return zip_bundle(model_dir)
