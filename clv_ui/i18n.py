"""The one catalogue of UI text, in English and 简体中文.

Every string a page shows comes from :data:`STRINGS` through :func:`t`, which reads the session's
language. The labels of the engine's codes (features, tiers, churn bands, actions, row issues)
live in the engine's catalogue, :mod:`clv_core.catalogue`, because the command line writes them
into files too; :func:`issue_label` and the charts take them from there. Metric, model, role and
money-explanation labels are page text and live here.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from clv_core.catalogue import ISSUE_LABELS, Label, pick
from clv_core.language import Language

__all__ = [
    "LANGUAGE_NAMES",
    "STRINGS",
    "current_language",
    "issue_label",
    "metric_label",
    "model_label",
    "money_label",
    "role_label",
    "t",
    "text_in",
]

LANGUAGE_NAMES: Mapping[Language, str] = {Language.EN: "English", Language.ZH: "简体中文"}

# The session language lives in the workbench state; this key is read through clv_ui.state.
_LANGUAGE_KEY = "clv_workbench"

STRINGS: Mapping[str, tuple[str, str]] = {
    # App frame and sidebar.
    "app.title": ("CLV workbench", "客户终身价值工作台"),
    "app.language": ("Language", "语言"),
    "app.workflow": ("Workflow", "流程进度"),
    "app.step_data": ("Data", "数据"),
    "app.step_train": ("Train", "训练"),
    "app.step_evaluate": ("Evaluate", "评估"),
    "app.step_explain": ("Explain", "解释"),
    "app.step_segments": ("Segments & export", "分层与导出"),
    "app.step_monitor": ("Monitor", "监控"),
    "app.done": ("done", "已完成"),
    "app.todo": ("to do", "待完成"),
    "app.running": ("running", "运行中"),
    # Guards.
    "guard.need_data": (
        "Load data first: upload a transaction log or use the sample data.",
        "请先加载数据：上传交易记录或使用示例数据。",
    ),
    "guard.need_model": (
        "Train a model first (Train page).",
        "请先训练模型（训练页）。",
    ),
    "guard.customer_table": (
        "This model was trained on a transaction log: it scores customers from their orders at "
        "a date. Load a log on the Data page, or choose a model trained on a per-customer "
        "table.",
        "该模型基于交易记录训练：它按日期根据客户的订单打分。请在数据页加载交易记录，或选择基于客户表"
        "训练的模型。",
    ),
    # Data page.
    "data.title": ("Data", "数据"),
    "data.intro": (
        "Upload a transaction log (one row per order) and, optionally, a customer-attributes "
        "table; or a per-customer table with a target column.",
        "上传交易记录（每行一笔订单），可选上传客户属性表；或上传带目标列的客户表。",
    ),
    "data.shape": ("Input shape", "输入格式"),
    "data.shape_transactions": ("Transaction log", "交易记录"),
    "data.shape_customer_table": ("Per-customer table with a target", "带目标列的客户表"),
    "data.use_sample": ("Use sample data", "使用示例数据"),
    "data.sample_help": (
        "A synthetic shop bundled with the app: transactions.csv and customers.csv.",
        "应用自带的模拟店铺数据：transactions.csv 与 customers.csv。",
    ),
    "data.upload_transactions": ("Transaction log", "交易记录文件"),
    "data.upload_customers": ("Customer attributes (optional)", "客户属性表（可选）"),
    "data.upload_customer_table": ("Per-customer table", "客户表"),
    "data.upload_help": (
        "CSV/TSV/TXT (UTF-8 or GB18030), XLSX or Parquet, at most {limit} MB (the server's upload "
        "cap, set in .streamlit/config.toml). Bigger files: use python -m clv_core.",
        "支持 CSV/TSV/TXT（UTF-8 或 GB18030）、XLSX、Parquet，最大 {limit} MB（服务器上传上限，"
        "见 .streamlit/config.toml）。更大的文件请使用 python -m clv_core。",
    ),
    "data.loaded": ("Loaded: {name}", "已加载：{name}"),
    "data.working": ("Loading data ...", "正在加载数据……"),
    "data.stage_read": ("Reading {name} ...", "正在读取 {name}……"),
    "data.stage_columns": ("Recognising the columns of {name} ...", "正在识别 {name} 的列……"),
    "data.stage_validate": ("Validating {name} ...", "正在校验 {name}……"),
    "data.mapping": ("Column mapping", "列映射"),
    "data.mapping_help": (
        "Detected from headers and content; change a select to fix a role.",
        "根据表头和内容自动识别；可在下拉框中修改。",
    ),
    "data.not_mapped": ("(none)", "（无）"),
    "data.report": ("Validation report", "校验报告"),
    "data.rows_read": ("Rows read", "读取行数"),
    "data.rows_used": ("Rows used", "使用行数"),
    "data.rows_dropped": ("Rows dropped", "丢弃行数"),
    "data.dropped_reason": ("Dropped by reason", "按原因丢弃"),
    "data.altered_reason": ("Altered (kept)", "已修正（保留）"),
    "data.reason": ("Reason", "原因"),
    "data.count": ("Rows", "行数"),
    "data.examples": ("Examples", "示例"),
    "data.warnings": ("Warnings", "警告"),
    "data.notes": ("Loader notes", "读取说明"),
    "data.preview": ("Preview", "预览"),
    "data.charts": ("Quick look", "概览"),
    "data.orders_over_time": ("Orders per month", "每月订单数"),
    "data.spend_distribution": ("Order value distribution", "订单金额分布"),
    "data.first_purchase": ("Customers by first-purchase month", "按首购月份的客户数"),
    "data.month": ("Month", "月份"),
    "data.orders": ("Orders", "订单数"),
    "data.customers": ("Customers", "客户数"),
    "data.order_value": ("Order value", "订单金额"),
    "data.windows": ("Time windows", "时间窗口"),
    "data.cutoff": ("Cutoff", "截止日"),
    "data.cutoff_help": (
        "Features use only orders on or before this day; the default leaves one horizon of data "
        "after it for the labels.",
        "特征只使用该日及之前的订单；默认值在其后留出一个预测期用于标签。",
    ),
    "data.horizon": ("Horizon (days)", "预测期（天）"),
    "data.horizon_unit": ("Horizon in", "预测期单位"),
    "data.unit_months": ("months", "月"),
    "data.unit_days": ("days", "天"),
    "data.horizon_months": ("Horizon (months of 30 days)", "预测期（月，每月 30 天）"),
    "data.horizon_help": (
        "The label is each customer's net spend in the days after the cutoff.",
        "标签为截止日之后该天数内客户的净消费。",
    ),
    "data.date_range": (
        "Orders from {first} to {last} ({customers:,} customers).",
        "订单日期 {first} 至 {last}（{customers:,} 位客户）。",
    ),
    "data.attributes": (
        "Customer attributes: {rows:,} customers, {columns} columns.",
        "客户属性：{rows:,} 位客户，{columns} 列。",
    ),
    "data.upload_order_lines": (
        "Order lines or payments (optional, two-file exports)",
        "订单明细或支付表（可选，两文件导出）",
    ),
    "data.upload_order_lines_help": (
        "When the transaction file is an orders table (order id, customer, date, status) and the "
        "money is in a second file of order lines or payments, upload that file here: the two "
        "are joined on the order id. {limit} MB at most.",
        "若交易文件是订单表（订单号、客户、日期、状态），金额在另一个订单明细或支付文件中，请在此上传该文件："
        "两者按订单号关联。最大 {limit} MB。",
    ),
    "data.combine_baskets": (
        "Combine lines into baskets when there is no order id",
        "无订单号时将同一客户同一时间的明细合并为一笔订单",
    ),
    "data.combine_baskets_help": (
        "Without an order id, the lines of one customer at one timestamp (one day when dates have "
        "no time of day) are one order, as on a till receipt. Switch off to count every row as "
        "an order.",
        "没有订单号时，同一客户同一时间（日期不含时间时为同一天）的明细算作一笔订单，如同一张小票。"
        "关闭后每行算作一笔订单。",
    ),
    "data.lines_in_use": ("Order lines joined: {name}", "已关联订单明细：{name}"),
    "data.remove_lines": ("Remove the order lines", "移除订单明细"),
    "data.customers_in_use": ("Customer attributes: {name}", "客户属性表：{name}"),
    "data.remove_customers": ("Remove the customer attributes", "移除客户属性表"),
    "data.guest_ids": (
        "Treated as guests (dropped and counted): {ids}",
        "视为游客（丢弃并计数）：{ids}",
    ),
    "data.guest_ids_clear": ("Count them as customers again", "重新计为客户"),
    "data.customer_table_loaded": (
        "Per-customer table: {rows:,} customers, target '{target}'.",
        "客户表：{rows:,} 位客户，目标列“{target}”。",
    ),
    # Money panel of the Data page.
    "money.title": ("Spend and plausibility", "消费金额与合理性检查"),
    "money.formula_total": ("Spend per line = {a}", "每行消费 = {a}"),
    "money.formula_quantity_x_price": ("Spend per line = {a} × {b}", "每行消费 = {a} × {b}"),
    "money.formula_quantity_x_price_minus_discount": (
        "Spend per line = {a} × {b} − {c}",
        "每行消费 = {a} × {b} − {c}",
    ),
    "money.formula_quantity_x_price_x_rate": (
        "Spend per line = {a} × {b} × (1 − {c})",
        "每行消费 = {a} × {b} × (1 − {c})",
    ),
    "money.not_spend": ("Not spend: {reason}", "不计为消费：{reason}"),
    "money.median_order_value": ("Median order value", "订单金额中位数"),
    "money.p99_order_value": ("99th percentile order", "订单金额 99 分位"),
    "money.negative_line_share": ("Negative lines", "负数行占比"),
    "money.zero_line_share": ("Zero lines", "零金额行占比"),
    "money.orders_per_customer": ("Orders per customer", "人均订单数"),
    "money.orders_per_customer_help": (
        "Mean; the median is {median:g}.",
        "均值；中位数为 {median:g}。",
    ),
    "money.returns": (
        "Returns and cancellations: {orders:,} orders netted ({amount:,.2f}), of which "
        "{cancellation_lines:,} lines of cancellation documents.",
        "退货与取消：{orders:,} 笔已冲减（{amount:,.2f}），"
        "其中取消单明细 {cancellation_lines:,} 行。",
    ),
    "money.currencies": ("Currencies (lines): {currencies}", "币种（行数）：{currencies}"),
    "money.apply": ("Apply: {suggestion}", "应用建议：{suggestion}"),
    "money.as_guest": ("treat '{customer}' as guests", "将“{customer}”视为游客"),
    # Train page.
    "train.title": ("Train", "训练"),
    "train.intro": (
        "Trains the network and the baselines (BG/NBD + Gamma-Gamma, LightGBM, historical) on "
        "the same training customers and measures them on the same test customers.",
        "在相同的训练客户上训练神经网络与基线模型（BG/NBD + Gamma-Gamma、LightGBM、历史法），"
        "并在相同的测试客户上评估。",
    ),
    "train.config": ("Network configuration", "网络配置"),
    "train.advanced": ("Advanced settings", "高级设置"),
    "train.split": ("Split", "切分方式"),
    "train.split_help": (
        "Customer: a random 20% of customers is held out. Out-of-time: learn one horizon "
        "earlier, test on the real next horizon (what deployment does).",
        "按客户：随机留出 20% 客户。跨时间：提前一个预测期训练，"
        "在真实的下一预测期上测试（与部署一致）。",
    ),
    "split.customer": ("Customer split", "按客户切分"),
    "split.time": ("Out-of-time split", "跨时间切分"),
    "train.start": ("Train", "开始训练"),
    "train.cancel": ("Cancel", "取消"),
    "train.waiting": (
        "Waiting for a free worker: position {position} in the server's queue "
        "({running} running). Training starts on its own.",
        "正在等待空闲的计算进程：在服务器队列中排第 {position} 位（{running} 个任务运行中）。"
        "轮到时会自动开始训练。",
    ),
    "train.starting": ("Starting the worker ...", "正在启动计算进程……"),
    "train.stop_now": ("Stop now", "立即停止"),
    "train.stop_now_help": (
        "Ends the training at once, without waiting for the current epoch; nothing is kept.",
        "立即结束训练，不等待当前轮次结束；不保留任何结果。",
    ),
    "train.stopped": (
        "Training was stopped before it finished; nothing was kept. Press Train to start again.",
        "训练在完成前被停止，未保留任何结果。点击「开始训练」重新开始。",
    ),
    "jobs.queued": (
        "Waiting for a free worker: position {position} in the server's queue.",
        "正在等待空闲的计算进程：在服务器队列中排第 {position} 位。",
    ),
    "train.stage": ("Step: {stage}", "步骤：{stage}"),
    "train.progress": (
        "Member {member}/{members}, epoch {epoch}/{max_epochs}",
        "第 {member}/{members} 个网络，第 {epoch}/{max_epochs} 轮",
    ),
    "train.loss_curve": ("Loss per epoch", "每轮损失"),
    "train.epoch": ("Epoch", "轮次"),
    "train.loss": ("Loss", "损失"),
    "train.train_loss": ("train", "训练"),
    "train.val_loss": ("validation", "验证"),
    "train.result": ("Result", "结果"),
    "train.epochs_run": ("Epochs run", "已运行轮数"),
    "train.best_val_loss": ("Best validation loss", "最佳验证损失"),
    "train.seconds": ("Time (s)", "用时（秒）"),
    "train.cancelled": (
        "Training was cancelled; the best weights so far were used.",
        "训练已取消；使用了目前最好的权重。",
    ),
    "train.finished": ("Training finished.", "训练完成。"),
    "train.next": ("Compare the models", "比较模型"),
    # MLP form fields: label and help.
    "mlp.hidden_layers": ("Hidden layers", "隐藏层"),
    "mlp.hidden_layers_help": (
        "Units per hidden layer, input side first, comma separated (e.g. 64, 32).",
        "每个隐藏层的神经元数，从输入侧开始，用逗号分隔（如 64, 32）。",
    ),
    "mlp.ensemble_size": ("Ensemble size", "集成网络数"),
    "mlp.ensemble_size_help": (
        "Networks trained with seeds seed, seed+1, ... and averaged; more is steadier and slower.",
        "以 seed, seed+1, … 为种子训练并取平均；越多越稳定但越慢。",
    ),
    "mlp.max_epochs": ("Max epochs", "最大轮数"),
    "mlp.max_epochs_help": ("Upper bound on passes over the data.", "遍历数据的最大次数。"),
    "mlp.loss": ("Loss", "损失函数"),
    "mlp.loss_help": (
        "ziln: zero-inflated lognormal (gives P(purchase) and intervals); log_mse: squared error "
        "on log1p(y); huber: Huber loss on log1p(y).",
        "ziln：零膨胀对数正态（给出购买概率与区间）；log_mse：log1p(y) 的均方误差；"
        "huber：log1p(y) 的 Huber 损失。",
    ),
    "mlp.learning_rate": ("Learning rate", "学习率"),
    "mlp.learning_rate_help": (
        "Step size of the optimiser, in (0, 1].",
        "优化器步长，取值 (0, 1]。",
    ),
    "mlp.seed": ("Seed", "随机种子"),
    "mlp.seed_help": (
        "Same data, settings and seed give the same model.",
        "相同数据、设置和种子得到相同模型。",
    ),
    "mlp.activation": ("Activation", "激活函数"),
    "mlp.activation_help": ("Activation of the hidden layers.", "隐藏层的激活函数。"),
    "mlp.dropout_rate": ("Dropout rate", "Dropout 比例"),
    "mlp.dropout_rate_help": (
        "Dropout after each hidden layer, in [0, 0.9).",
        "每个隐藏层后的 Dropout，取值 [0, 0.9)。",
    ),
    "mlp.l2": ("L2 penalty", "L2 正则"),
    "mlp.l2_help": (
        "L2 weight penalty on the kernels, in [0, 1].",
        "权重的 L2 惩罚，取值 [0, 1]。",
    ),
    "mlp.batch_norm": ("Batch normalisation", "批归一化"),
    "mlp.batch_norm_help": (
        "Batch normalisation after each hidden layer.",
        "每个隐藏层后做批归一化。",
    ),
    "mlp.optimizer": ("Optimiser", "优化器"),
    "mlp.optimizer_help": ("Gradient-descent optimiser.", "梯度下降优化器。"),
    "mlp.batch_size": ("Batch size", "批大小"),
    "mlp.batch_size_help": ("Rows per gradient step, 8 to 65536.", "每步梯度的行数，8 到 65536。"),
    "mlp.patience": ("Early-stopping patience", "早停耐心"),
    "mlp.patience_help": (
        "Epochs without validation improvement before stopping.",
        "验证损失不再改善多少轮后停止。",
    ),
    "mlp.validation_fraction": ("Validation fraction", "验证集比例"),
    "mlp.validation_fraction_help": (
        "Share of training customers held out for early stopping and calibration, 0.05 to 0.5.",
        "用于早停和校准的训练客户比例，0.05 到 0.5。",
    ),
    "mlp.sigma_max": ("ZILN sigma bound", "ZILN sigma 上限"),
    "mlp.sigma_max_help": (
        "ZILN only: upper bound of the lognormal sigma; keeps expected values sane on heavy tails.",
        "仅 ZILN：对数正态 sigma 的上限，防止重尾数据的期望值爆炸。",
    ),
    "mlp.tweedie_weight": ("Tweedie weight", "Tweedie 权重"),
    "mlp.tweedie_weight_help": (
        "ZILN only: weight of a Tweedie deviance of the expected value added to the loss, "
        "0 to 100; 0 trains on the ZILN likelihood alone.",
        "仅 ZILN：在损失中加入期望值的 Tweedie 偏差的权重，0 到 100；0 表示只用 ZILN 似然训练。",
    ),
    "mlp.ranking_moment": ("Ranking moment", "排序矩阶"),
    "mlp.ranking_moment_help": (
        "ZILN only: customers are ordered by E[Y^g]^(1/g) of each network's prediction, g in "
        "(0, 1], and the calibration turns that score into money; 1 orders by the expected "
        "value, lower values give the chance of buying more weight and the spread of the spend "
        "less.",
        "仅 ZILN：按每个网络预测分布的 E[Y^g]^(1/g)（g 在 (0, 1] 内）给客户排序，"
        "校准再把该分数换算成金额；1 表示按期望值排序，"
        "更小的值更看重购买概率、更少看重消费金额的离散程度。",
    ),
    "mlp.btyd_inputs": ("BG/NBD inputs", "BG/NBD 输入"),
    "mlp.btyd_inputs_help": (
        "Give the network the chance that each customer is still active and the purchases "
        "per year expected now, from a BG/NBD model fitted on the training customers (needs "
        "a transaction log's frequency, recency and T).",
        "为网络提供由训练客户拟合的 BG/NBD 模型算出的两个输入："
        "客户仍活跃的概率和当前预期的年购买次数（需要交易记录的 frequency、recency 和 T）。",
    ),
    "mlp.rank_weight": ("Ranking weight", "排序权重"),
    "mlp.rank_weight_help": (
        "ZILN only: weight of a pairwise ranking term (customers who spent more predicted "
        "above those who spent less), 0 to 100; 0 trains without it. It reorders customers "
        "of similar expected value only; the money level stays the likelihood's.",
        "仅 ZILN：成对排序项（实际消费更多的客户排在更少的客户之前）的权重，0 到 100；"
        "0 表示不加此项。它只调整期望值相近的客户之间的顺序，金额水平仍由似然决定。",
    ),
    "mlp.calibration": ("Calibration", "校准"),
    "mlp.calibration_help": (
        "auto: isotonic from 10,000 held-out training customers on, power below; "
        "power: exp(a)*raw^b on held-out customers; isotonic: a binned monotone map; none.",
        "auto：留出的训练客户达到 10,000 时用 isotonic，否则用 power；"
        "power：在留出客户上拟合 exp(a)*raw^b；isotonic：分箱单调映射；none：不校准。",
    ),
    "mlp.interval_coverage": ("Interval coverage", "区间覆盖率"),
    "mlp.interval_coverage_help": (
        "Central coverage of the prediction interval (ZILN); 0.8 gives the 10th-90th percentiles.",
        "预测区间的中心覆盖率（ZILN）；0.8 对应第 10 到第 90 百分位。",
    ),
    # Evaluate page.
    "evaluate.title": ("Evaluate", "评估"),
    "evaluate.split": ("Split shown", "显示的切分"),
    "evaluate.not_run": (
        "This split has not been evaluated yet.",
        "该切分尚未评估。",
    ),
    "evaluate.run": ("Evaluate this split", "评估该切分"),
    "evaluate.summary": (
        "{n_train:,} training and {n_test:,} test customers; cutoff {cutoff}, "
        "horizon {horizon} days.",
        "{n_train:,} 位训练客户，{n_test:,} 位测试客户；截止日 {cutoff}，预测期 {horizon} 天。",
    ),
    "evaluate.metrics": ("Metrics on the same test customers", "同一批测试客户上的指标"),
    "evaluate.gain": ("Gain curve", "增益曲线"),
    "evaluate.deciles": ("Deciles: mean predicted vs mean actual", "十分位：平均预测与平均实际"),
    "evaluate.scatter": ("Predicted vs actual", "预测与实际"),
    "evaluate.model": ("Model", "模型"),
    "evaluate.share_customers": ("Share of customers", "客户占比"),
    "evaluate.share_value": ("Share of actual value", "实际价值占比"),
    "evaluate.decile": ("Decile (1 = highest predicted)", "十分位（1 = 预测最高）"),
    "evaluate.mean_value": ("Mean value", "平均值"),
    "evaluate.predicted": ("Predicted", "预测"),
    "evaluate.actual": ("Actual", "实际"),
    "evaluate.error": ("Error", "错误"),
    # Explain page.
    "explain.title": ("Explain", "解释"),
    "explain.intro": (
        "SHAP values of the predicted CLV, in money: the average prediction plus a customer's "
        "contributions equals their prediction.",
        "预测 CLV 的 SHAP 值（金额）：平均预测加上客户各特征的贡献等于其预测值。",
    ),
    "explain.sample_size": ("Customers explained", "解释的客户数"),
    "explain.sample_size_help": (
        "A seeded random sample of the test customers; more is slower.",
        "测试客户中的随机样本（固定种子）；越多越慢。",
    ),
    "explain.background_size": ("Background customers", "背景客户数"),
    "explain.background_size_help": (
        "Training customers the contributions are measured against; 100-200 is stable.",
        "作为参照的训练客户数；100 到 200 即较稳定。",
    ),
    "explain.run": ("Explain", "计算解释"),
    "explain.running": ("Computing SHAP values ...", "正在计算 SHAP 值……"),
    "explain.importance": ("Global importance", "全局重要性"),
    "explain.beeswarm": ("Beeswarm", "蜂群图"),
    "explain.dependence": ("Dependence", "依赖图"),
    "explain.feature": ("Feature", "特征"),
    "explain.waterfall": ("One customer", "单个客户"),
    "explain.search": ("Search customer id", "搜索客户 ID"),
    "explain.customer": ("Customer", "客户"),
    "explain.no_match": (
        "No explained customer matches '{query}'.",
        "没有匹配“{query}”的已解释客户。",
    ),
    "explain.base_value": (
        "Average prediction {base:,.2f}; additivity error {error:.2g}.",
        "平均预测 {base:,.2f}；可加性误差 {error:.2g}。",
    ),
    # SHAP figures on the Explain page ({} fields are filled by clv_ui.charts).
    "shap.mean_abs": (
        "mean |SHAP value| (effect on predicted CLV)",
        "平均 |SHAP 值|（对预测 CLV 的影响）",
    ),
    "shap.value": ("SHAP value (effect on predicted CLV)", "SHAP 值（对预测 CLV 的影响）"),
    "shap.importance_title": (
        "Which features move predicted CLV most",
        "对预测 CLV 影响最大的特征",
    ),
    "shap.beeswarm_title": (
        "Effect of each feature on every explained customer",
        "各特征对每位客户的影响",
    ),
    "shap.value_rank": ("feature value<br>(low to high)", "特征值<br>（低到高）"),
    "shap.no_rank": ("category or missing", "类别或缺失"),
    "shap.dependence_title": ("How {feature} moves predicted CLV", "{feature} 如何影响预测 CLV"),
    "shap.missing_note": (
        "{count} customer(s) with a missing value not shown",
        "未显示 {count} 位取值缺失的客户",
    ),
    "shap.waterfall_title": (
        "Why customer {customer} is predicted {prediction}",
        "客户 {customer} 的预测值为 {prediction} 的原因",
    ),
    "shap.base": ("average customer", "平均客户"),
    "shap.prediction": ("predicted CLV", "预测 CLV"),
    "shap.other": ("{count} other features", "其余 {count} 个特征"),
    "shap.customer": ("customer", "客户"),
    # Segments page.
    "segments.title": ("Segments & export", "分层与导出"),
    "segments.model_source": ("Model", "模型"),
    "segments.source_trained": ("Trained in this session", "本次会话训练的模型"),
    "segments.source_bundle": ("Uploaded bundle", "上传的模型包"),
    "segments.loading_bundle": ("Loading the model bundle ...", "正在加载模型包……"),
    "segments.scoring": ("Scoring every customer ...", "正在为所有客户打分……"),
    "segments.upload_bundle": ("Model bundle (.zip)", "模型包（.zip）"),
    "segments.upload_bundle_help": (
        "A bundle downloaded from this page or written by python -m clv_core train; it scores "
        "the loaded data without retraining.",
        "从本页下载或由 python -m clv_core train 生成的模型包；无需重新训练即可为已加载数据打分。",
    ),
    "segments.bundle_loaded": (
        "Bundle: cutoff {cutoff}, horizon {horizon} days.",
        "模型包：截止日 {cutoff}，预测期 {horizon} 天。",
    ),
    "segments.as_of": ("Score as of", "打分日期"),
    "segments.as_of_help": (
        "Features at this day; the default is the last order date in the data.",
        "使用该日的特征；默认是数据中最后的订单日期。",
    ),
    "segments.new_customers": ("New customers to score (optional)", "待打分的新客户（可选）"),
    "segments.new_customers_help": (
        "A per-customer table with the columns the model was trained on (the value column is "
        "not needed; other columns are ignored). Without it, the training table itself is "
        "scored, each customer out of fold.",
        "包含模型训练时各列的客户表（无需价值列，其他列将被忽略）。不上传时，对训练表本身打分，"
        "每位客户均为交叉拟合预测。",
    ),
    "segments.need_new_customers": (
        "This model was trained on a per-customer table: upload a table of customers with its "
        "columns ({columns}) above to score them.",
        "该模型基于客户表训练：请在上方上传包含相同列（{columns}）的客户表以进行打分。",
    ),
    "segments.table_scored": (
        "Scored: {name} ({n} customers, dates counted back from {date}).",
        "已打分：{name}（{n} 位客户，日期自 {date} 起倒推）。",
    ),
    "segments.training_table_note": (
        "These are the training customers: each is predicted by the ensemble members that did "
        "not train on them (prediction_basis = out_of_fold), next to the known value "
        "(known_value); customers the evaluation held out (held_out) are predicted by the whole "
        "network.",
        "这些是训练客户：每位客户由未用其训练的集成成员预测（prediction_basis = out_of_fold），"
        "并列出已知价值（known_value）；评估时留出的客户（held_out）由完整网络预测。",
    ),
    "segments.no_bands_no_zeros": (
        "No churn bands: the training value has no zeros, so the network's purchase "
        "probability says nothing about churn, and a per-customer table has no order dates for "
        "the recency rule. Tiers, the profile and the list are complete.",
        "无流失风险分段：训练价值中没有 0，网络的购买概率无法反映流失；客户表也没有订单日期可用于"
        "最近购买规则。价值分层、概况和名单不受影响。",
    ),
    "segments.no_bands_point_loss": (
        "No churn bands: this network predicts the value only (not the ZILN loss), and a "
        "per-customer table has no order dates for the recency rule. Tiers, the profile and "
        "the list are complete.",
        "无流失风险分段：该网络只预测价值（未使用 ZILN 损失），客户表也没有订单日期可用于最近购买"
        "规则。价值分层、概况和名单不受影响。",
    ),
    "segments.tiers": ("Value tiers", "价值分层"),
    "segments.tier_kind": ("Tier rule", "分层规则"),
    "segments.tier_kind_help": (
        "quantile: fixed shares of customers; threshold: money thresholds on predicted CLV.",
        "quantile：按客户比例；threshold：按预测 CLV 金额阈值。",
    ),
    "segments.shares": ("Shares, top to bottom (%)", "各层比例，自上而下（%）"),
    "segments.shares_help": ("Comma separated, summing to 100.", "用逗号分隔，总和为 100。"),
    "segments.thresholds": ("Thresholds, highest first", "阈值，从高到低"),
    "segments.thresholds_help": (
        "Lowest predicted CLV of each tier except the last, e.g. 1000, 300, 50.",
        "除最后一层外每层的最低预测 CLV，如 1000, 300, 50。",
    ),
    "segments.churn": ("Churn risk bands", "流失风险分段"),
    "segments.churn_help": (
        "Risk = 1 - P(purchase); Low below the first bound, High above the second.",
        "风险 = 1 - 购买概率；低于第一个界限为低，高于第二个为高。",
    ),
    "segments.profile": ("Segment profile", "分层概况"),
    "segments.col_tier": ("Tier", "价值层级"),
    "segments.col_churn_band": ("Churn risk", "流失风险"),
    "segments.col_n_customers": ("Customers", "客户数"),
    "segments.col_share_of_customers": ("Share of customers", "客户占比"),
    "segments.col_predicted_revenue": ("Predicted value", "预测价值合计"),
    "segments.col_share_of_predicted_revenue": ("Share of predicted value", "预测价值占比"),
    "segments.col_mean_predicted_clv": ("Mean predicted CLV", "平均预测 CLV"),
    "segments.col_mean": ("Mean: {feature}", "平均：{feature}"),
    "segments.sizes": ("Tier sizes vs value share", "各层规模与价值占比"),
    "segments.grid": ("Action grid", "行动矩阵"),
    "segments.distribution": ("Predicted CLV by tier", "各层预测 CLV 分布"),
    "segments.share": ("Share", "占比"),
    "segments.customer_share": ("customers", "客户"),
    "segments.value_share": ("predicted value", "预测价值"),
    "segments.tier": ("Tier", "层级"),
    "segments.band": ("Churn risk", "流失风险"),
    "segments.predicted_clv": ("Predicted CLV", "预测 CLV"),
    "segments.filters": ("Filters for the download", "下载筛选"),
    "segments.filter_tiers": ("Tiers", "层级"),
    "segments.filter_bands": ("Churn risk", "流失风险"),
    "segments.filter_actions": ("Actions", "行动"),
    "segments.export_options": ("What the download contains", "下载内容"),
    "segments.passthrough": ("Customer-table columns to include", "附带的客户表列"),
    "segments.passthrough_help": (
        "Copied from the customer-attributes table, e.g. region or channel for the campaign tool.",
        "从客户属性表复制，例如地区或渠道，供营销工具使用。",
    ),
    "segments.drivers": (
        "Add each customer's top three drivers (SHAP)",
        "附上每位客户的三大驱动因素（SHAP）",
    ),
    "segments.drivers_help": (
        "Explains every scored customer: about 2 s per 1,000 customers.",
        "对每位打分客户计算解释：每 1,000 位客户约 2 秒。",
    ),
    "segments.excel_bom": (
        "CSV for Excel (UTF-8 with BOM)",
        "适用于 Excel 的 CSV（带 BOM 的 UTF-8）",
    ),
    "segments.excel_bom_help": (
        "Excel needs the byte-order mark to show Chinese text; other programs do not mind it.",
        "Excel 需要字节顺序标记才能正确显示中文；其他程序不受影响。",
    ),
    "segments.computing_drivers": ("Explaining every customer ...", "正在解释每位客户……"),
    "segments.selected": (
        "{n:,} of {total:,} customers selected.",
        "已选择 {n:,} / {total:,} 位客户。",
    ),
    "segments.value": ("Value over time", "价值的时间分布"),
    "segments.margin": ("Gross margin (%)", "毛利率（%）"),
    "segments.margin_help": (
        "Profit = margin x predicted revenue. 100% leaves the revenue as it is.",
        "利润 = 毛利率 × 预测收入。100% 即保持收入不变。",
    ),
    "segments.margin_column": ("Margin per customer", "按客户的毛利率"),
    "segments.margin_column_help": (
        "A column of the customer attributes with each customer's margin as a share (0.35 = "
        "35%); customers without a value get the rate on the left.",
        "客户属性表中每位客户毛利率所在的列（0.35 表示 35%）；无值的客户使用左侧的统一毛利率。",
    ),
    "segments.margin_none": ("one rate for everyone", "统一毛利率"),
    "segments.discount": ("Discount rate (% a year)", "年折现率（%）"),
    "segments.discount_help": (
        "Money later is worth less today: each month's value is discounted at the end of the "
        "month, at the monthly rate equal to this yearly rate.",
        "未来的钱今天价值更低：每月价值在月末按与该年利率等价的月利率折现。",
    ),
    "segments.period": ("Periods", "时间粒度"),
    "segments.period_month": ("months (30 days)", "月（30 天）"),
    "segments.period_week": ("weeks", "周"),
    "segments.value_sentence": (
        "Predicted CLV is each customer's net revenue over the {horizon} days after {as_of} "
        "({periods}); profit is that revenue times {margin}, discounted at {rate:.1%} a year to "
        "{as_of}. Months are spread as BG/NBD expects each customer to buy.",
        "预测 CLV 为每位客户在 {as_of} 之后 {horizon} 天（{periods}）内的净收入；利润为该收入乘以"
        "{margin}，并按年利率 {rate:.1%} 折现到 {as_of}。各期金额按 BG/NBD 预期的购买时间分配。",
    ),
    "segments.periods_month": ("{n} months of 30 days", "{n} 个 30 天的月"),
    "segments.periods_week": ("{n} weeks", "{n} 周"),
    "segments.periods_rest": ("{whole} and {rest} more days", "{whole}，另加 {rest} 天"),
    "segments.periods_one": ("one period of {rest} days", "一个 {rest} 天的时段"),
    "segments.margin_rate": ("a {margin:.0%} margin", "毛利率 {margin:.0%}"),
    "segments.margin_from_column": (
        "the margin in '{column}' ({margin:.0%} where empty)",
        "'{column}' 列中的毛利率（无值时为 {margin:.0%}）",
    ),
    "segments.margin_by_category": (
        "the margin of each customer's '{column}' ({margin:.0%} where it has none)",
        "按每位客户的 '{column}' 类别设定的毛利率（无设定时为 {margin:.0%}）",
    ),
    "segments.category_margins": (
        "Margin of each '{column}' (%)",
        "'{column}' 各类别的毛利率（%）",
    ),
    "segments.too_many_categories": (
        "'{column}' has {n:,} categories; choose a column with a margin per customer, or with "
        "at most {limit} categories.",
        "'{column}' 有 {n:,} 个类别；请选择每位客户一个毛利率的列，或类别不超过 {limit} 个的列。",
    ),
    "segments.margins_defaulted": (
        "{n:,} customers have no margin in '{column}'; they get {margin:.0%}.",
        "{n:,} 位客户在 '{column}' 列中没有毛利率，使用 {margin:.0%}。",
    ),
    "segments.per_period_title": (
        "Expected revenue per {period} of the customers selected",
        "所选客户每{period}预期收入",
    ),
    "segments.per_period_month": ("month", "月"),
    "segments.per_period_week": ("week", "周"),
    "segments.revenue": ("Revenue", "收入"),
    "segments.profit": ("Profit (discounted)", "利润（折现后）"),
    "segments.period_end": ("Period ending", "时段结束日"),
    "segments.money": ("Amount", "金额"),
    "segments.budget": ("Budget planner", "预算规划"),
    "segments.budget_on": ("Plan a budget for the selected customers", "为所选客户规划预算"),
    "segments.budget_amount": ("Budget", "预算"),
    "segments.budget_amount_help": (
        "What the campaign may spend on contacts in total.",
        "本次活动用于触达的总预算。",
    ),
    "segments.budget_cost": ("Cost per contact", "每次触达成本"),
    "segments.budget_cost_help": (
        "What one contact costs: a mailing, a voucher, a call.",
        "一次触达的成本：一封邮件、一张优惠券、一次电话。",
    ),
    "segments.budget_explain": (
        "Customers are contacted in order of expected profit minus the cost of a contact, while "
        "that is positive and the budget lasts; the 80% range comes from the customers' "
        "intervals.",
        "按“预期利润减去触达成本”从高到低选择客户，直到该值不再为正或预算用完；"
        "80% 区间来自每位客户的预测区间。",
    ),
    "segments.budget_contacts": ("Customers to contact", "触达客户数"),
    "segments.budget_spent": ("Cost", "成本"),
    "segments.budget_profit": ("Expected profit", "预期利润"),
    "segments.budget_net": ("Profit after cost", "扣除成本后的利润"),
    "segments.budget_band": (
        "80% range {low:,.2f} to {high:,.2f}",
        "80% 区间 {low:,.2f} 至 {high:,.2f}",
    ),
    "segments.budget_limited_budget": (
        "The budget runs out first: {worth:,} of {candidates:,} customers would bring more "
        "than a contact costs.",
        "预算先用完：{candidates:,} 位客户中有 {worth:,} 位的预期利润高于触达成本。",
    ),
    "segments.budget_limited_customers": (
        "Only {worth:,} of {candidates:,} customers bring more than a contact costs; the rest of "
        "the budget is not worth spending on this list.",
        "{candidates:,} 位客户中只有 {worth:,} 位的预期利润高于触达成本；"
        "剩余预算不值得花在此名单上。",
    ),
    "segments.budget_curve_title": ("Profit captured vs budget", "预算与可获得利润"),
    "segments.budget_axis": ("Budget spent", "已用预算"),
    "segments.budget_profit_axis": ("Expected profit", "预期利润"),
    "segments.budget_net_axis": ("Profit after cost", "扣除成本后的利润"),
    "segments.budget_chosen": ("Your budget", "你的预算"),
    "segments.downloads": ("Downloads", "下载"),
    # Monitor page.
    "monitor.title": ("Monitor a model", "监控模型"),
    "monitor.intro": (
        "Compare a model's predictions with what its customers spent afterwards, check "
        "whether the customers have changed, and train a challenger on the newest data. Load "
        "the newer log on the Data page; upload the deployed bundle here, or use this "
        "session's network.",
        "将模型的预测与客户之后的实际消费进行比较，检查客户是否发生了变化，并用最新数据训练挑战者模型。"
        "请在数据页加载较新的交易记录；在此上传已部署的模型包，或使用本会话的网络。",
    ),
    "monitor.upload_bundle": ("Deployed model bundle (.zip)", "已部署的模型包（.zip）"),
    "monitor.source": ("Model to monitor", "要监控的模型"),
    "monitor.in_sample": (
        "This session's network learned from these customers' outcomes (customer split): the "
        "figures below include its training customers and are optimistic. Monitor an uploaded "
        "bundle with a newer log for honest figures.",
        "本会话的网络已从这些客户的结果中学习（按客户划分）：以下数字包含其训练客户，偏乐观。"
        "如需客观的数字，请用较新的交易记录监控上传的模型包。",
    ),
    "monitor.needs_log": (
        "Monitoring needs a model trained on a transaction log: a per-customer table has no "
        "dates to compare with.",
        "监控需要基于交易记录训练的模型：客户表没有可比较的日期。",
    ),
    "monitor.run": ("Check the model", "检查模型"),
    "monitor.running": ("Monitoring ...", "正在监控……"),
    "monitor.window": (
        "{customers:,} customers scored on {as_of}; outcome from {start} to {end} ({days} days).",
        "{as_of} 为 {customers:,} 位客户打分；结果区间 {start} 至 {end}（{days} 天）。",
    ),
    "monitor.keep": ("No reason to retrain was found.", "未发现需要重新训练的理由。"),
    "monitor.retrain": ("Retraining is recommended:", "建议重新训练："),
    "monitor.metrics": ("Predictions against what happened", "预测与实际结果"),
    "monitor.still_best": (
        "The network is still at least as good as the baselines refitted on the as-of date.",
        "网络仍不逊于在预测日重新拟合的基线模型。",
    ),
    "monitor.not_best": (
        "A baseline refitted on the as-of date ranked the customers better than the network.",
        "在预测日重新拟合的基线模型对客户的排序优于网络。",
    ),
    "monitor.coverage": ("Interval coverage", "区间覆盖率"),
    "monitor.coverage_help": (
        "Share of customers whose outcome fell inside their interval; promised {promised:.0%}.",
        "结果落在其区间内的客户比例；承诺为 {promised:.0%}。",
    ),
    "monitor.segments": ("By value tier and churn band", "按价值层级和流失风险"),
    "monitor.predicted": ("Predicted", "预测"),
    "monitor.realised": ("Realised", "实际"),
    "monitor.revenue": ("Revenue", "收入"),
    "monitor.drift": ("Have the customers changed?", "客户是否发生了变化？"),
    "monitor.drift_caption": (
        "Population stability index of each input between the customers the network learned "
        "from ({reference}) and the newest customers ({current}); 0.10 is moving, 0.25 shifted. "
        "{new:.1%} of the newest customers first ordered after the as-of date.",
        "网络学习所用客户（{reference}）与最新客户（{current}）之间各输入的群体稳定性指数（PSI）；"
        "0.10 为变动，0.25 为偏移。最新客户中有 {new:.1%} 在预测日之后才首次下单。",
    ),
    "monitor.findings": ("Findings", "发现"),
    "monitor.lineage": ("Lineage of this bundle", "该模型包的谱系"),
    "monitor.challenger": ("Champion and challenger", "冠军模型与挑战者"),
    "monitor.challenge": ("Train a challenger on the newest data", "用最新数据训练挑战者"),
    "monitor.challenge_help": (
        "A network with the same settings learns from the window ending one horizon before "
        "the log's end; both are measured on the same held-out customers over the last "
        "horizon. When the challenger is better, it is trained on the newest window and "
        "offered as a new bundle.",
        "使用相同设置的网络从日志结束前一个预测期截止的窗口学习；两者在最后一个预测期内、"
        "同一批留出客户上比较。若挑战者更好，则用最新窗口训练并提供新的模型包。",
    ),
    "monitor.challenging": ("Training the challenger ...", "正在训练挑战者……"),
    "monitor.challenger_better": (
        "The challenger is better; its bundle records this comparison and its parent.",
        "挑战者更好；其模型包记录了本次比较及其父模型。",
    ),
    "monitor.champion_stays": (
        "The challenger is not better: keep the deployed bundle.",
        "挑战者并不更好：继续使用已部署的模型包。",
    ),
    "monitor.download_challenger": ("Challenger bundle (.zip)", "挑战者模型包（.zip）"),
    "monitor.champion": ("Champion", "冠军模型"),
    "monitor.challenger_name": ("Challenger", "挑战者"),
    "monitor.downloads": ("Report", "报告"),
    "monitor.download_json": ("Report (JSON)", "报告（JSON）"),
    "monitor.download_html": ("Report (HTML)", "报告（HTML）"),
    "monitor.download_xlsx": ("Report (XLSX)", "报告（XLSX）"),
    "monitor.metric": ("Metric", "指标"),
    "monitor.value": ("Value", "数值"),
    "segments.download_csv": ("Scored list (CSV)", "打分名单（CSV）"),
    "segments.download_xlsx": ("Scored list (XLSX)", "打分名单（XLSX）"),
    "segments.download_bundle": ("Model bundle (.zip)", "模型包（.zip）"),
    "segments.bundle_note": (
        "The bundle holds the trained network and what it needs (the features of a log, or the "
        "columns of a per-customer table); upload it on the Segments & export page, or give it "
        "to python -m clv_core score, to score new data without retraining.",
        "模型包包含训练好的网络及其所需信息（交易记录的特征，或客户表的列）；之后可在分层与导出页上传，"
        "或交给 python -m clv_core score，为新数据打分而无需重新训练。",
    ),
}

_MONEY_LABELS: Mapping[str, tuple[str, str]] = {
    "rejected_cost": (
        "'{column}' is the shop's cost, not what customers paid",
        "“{column}”是店铺成本，不是客户支付的金额",
    ),
    "rejected_quantity_not_needed": (
        "'{column}' counts items; '{spend}' already holds the line total",
        "“{column}”是件数；“{spend}”已是该行总额",
    ),
    "rejected_small_whole_numbers": (
        "'{column}' holds only small whole numbers: a count of items, not money",
        "“{column}”只含较小的整数：是件数而不是金额",
    ),
    "rejected_list_price": (
        "'{column}' is a price per unit; '{spend}' is what was charged for the line",
        "“{column}”是单价；“{spend}”是该行实际收取的金额",
    ),
    "rejected_discount_in_total": (
        "'{column}' is not subtracted: '{spend}' is taken as already net of discounts",
        "未扣减“{column}”：“{spend}”视为已扣除优惠的金额",
    ),
    "rejected_same_values": (
        "'{column}' holds the same values as '{spend}'",
        "“{column}”与“{spend}”数值相同",
    ),
    "rejected_other_total": (
        "'{column}' is another total; '{spend}' was preferred (change the amount select to switch)",
        "“{column}”是另一个总额列；已优先使用“{spend}”（可在金额下拉框中更改）",
    ),
    "warn_amount_is_unit_price": (
        "'{column}' looks like a price per unit, not a line total: spend is probably "
        "{quantity} × {column}.",
        "“{column}”看起来是单价而不是行总额：消费应为 {quantity} × {column}。",
    ),
    "warn_spend_small_integers": (
        "Every spend value in '{column}' is a small whole number: it looks like a count of "
        "items, not money.",
        "“{column}”中的消费金额全是较小的整数：看起来是件数而不是金额。",
    ),
    "warn_order_value_below_unit_price": (
        "The median order value ({order_value}) is below the median unit price in '{column}' "
        "({price}): '{amount}' is probably not the amount paid per line.",
        "订单金额中位数（{order_value}）低于“{column}”的单价中位数（{price}）：“{amount}”可能不是每行的实付金额。",
    ),
    "warn_cost_above_spend": (
        "The cost in '{cost}' is larger than the spend ({spend}) on most lines: the spend column "
        "is probably not what customers paid.",
        "多数行中“{cost}”的成本高于消费（{spend}）：消费列可能不是客户实际支付的金额。",
    ),
    "warn_spend_is_cost": (
        "The spend is taken from '{column}', which is named like the shop's cost, not what "
        "customers paid.",
        "消费取自“{column}”，其列名表示店铺成本，而不是客户支付的金额。",
    ),
    "warn_dominant_customer_spend": (
        "Customer id '{customer}' holds {share} of all spend. If it is a placeholder for guest "
        "or walk-in orders, treat it as guests.",
        "客户 ID“{customer}”占全部消费的 {share}。如果它是游客或散客的占位 ID，请将其视为游客。",
    ),
    "warn_dominant_customer_orders": (
        "Customer id '{customer}' holds {share} of all orders. If it is a placeholder for guest "
        "or walk-in orders, treat it as guests.",
        "客户 ID“{customer}”占全部订单的 {share}。如果它是游客或散客的占位 ID，请将其视为游客。",
    ),
    "warn_mixed_currencies": (
        "The spend mixes currencies in '{column}': {currencies}. Amounts are added as they are; "
        "convert them to one currency first.",
        "“{column}”中混有多种币种：{currencies}。金额按原值相加；请先换算为同一币种。",
    ),
}

_ROLE_LABELS: Mapping[str, tuple[str, str]] = {
    "customer_id": ("Customer id", "客户 ID"),
    "order_date": ("Order date", "下单日期"),
    "order_id": ("Order id", "订单号"),
    "status": ("Order status", "订单状态"),
    "currency": ("Currency", "币种"),
    "amount": ("Amount (line or order total)", "金额（行或订单总额）"),
    "quantity": ("Quantity", "数量"),
    "unit_price": ("Unit price", "单价"),
    "discount": ("Discount", "优惠"),
    "cost": ("Cost (never spend)", "成本（不计为消费）"),
    "target": ("Target", "目标列"),
    "signup_date": ("Signup date", "注册日期"),
}

_METRIC_LABELS: Mapping[str, tuple[str, str]] = {
    "model": ("Model", "模型"),
    "spearman": ("Spearman", "Spearman 相关"),
    "normalized_gini": ("Normalized Gini", "归一化基尼系数"),
    "top_decile_share": ("Top-decile share", "前10%价值占比"),
    "decile_mape": ("Decile MAPE", "十分位 MAPE"),
    "total_ratio": ("Total ratio", "总额比"),
    "mae": ("MAE", "MAE"),
    "rmse": ("RMSE", "RMSE"),
    "fit_seconds": ("Fit time (s)", "拟合用时（秒）"),
    "error": ("Error", "错误"),
}

_MODEL_LABELS: Mapping[str, tuple[str, str]] = {
    "mlp": ("MLP (network)", "MLP 神经网络"),
    "bgnbd_gg": ("BG/NBD + Gamma-Gamma", "BG/NBD + Gamma-Gamma"),
    "lightgbm": ("LightGBM", "LightGBM"),
    "historical": ("Historical rate", "历史消费率"),
    "perfect": ("Perfect ranking", "完美排序"),
}


def current_language() -> Language:
    """The session's UI language (English until the user picks another)."""
    state = st.session_state.get(_LANGUAGE_KEY)
    language = getattr(state, "language", Language.EN)
    return Language(language)


def _pick(pair: Label, language: Language) -> str:
    return pick(pair, language)


def t(key: str, **values: object) -> str:
    """The text for ``key`` in the session language, formatted with ``values``.

    An unknown key is a programming error and raises ``KeyError``: every string lives in
    :data:`STRINGS`.
    """
    return text_in(current_language(), key, **values)


def text_in(language: Language, key: str, **values: object) -> str:
    """The text for ``key`` in ``language`` (what :func:`t` does for the session language)."""
    text = _pick(STRINGS[key], language)
    return text.format(**values) if values else text


def issue_label(key: str) -> str:
    """Label of a validation issue code (``clv_core.issues.RowIssue``); the code if unknown.

    The wording comes from the engine's catalogue of labels (:mod:`clv_core.catalogue`).
    """
    label = ISSUE_LABELS.get(key)
    return _pick(label, current_language()) if label else key


def money_label(key: str, values: Mapping[str, str]) -> str:
    """A money explanation or warning (``clv_core.money``) in the session language."""
    text = _pick(_MONEY_LABELS[key], current_language())
    return text.format(**values)


def role_label(role: str) -> str:
    """Label of a column role (``clv_core.columns.Role``); the role itself when unknown."""
    pair = _ROLE_LABELS.get(role)
    return _pick(pair, current_language()) if pair else role


def metric_label(name: str) -> str:
    """Label of a metric or metrics-table column; the name itself when unknown."""
    pair = _METRIC_LABELS.get(name)
    return _pick(pair, current_language()) if pair else name


def model_label(name: str) -> str:
    """Label of a model name (``clv_core.evaluation.ModelName`` or ``"perfect"``)."""
    pair = _MODEL_LABELS.get(name)
    return _pick(pair, current_language()) if pair else name
