"""The scoring service's REST API (FastAPI), a thin adapter over :mod:`clv_core.usecases.service`.

``python -m clv_core serve --model BUNDLE`` loads a bundle once and answers:

- ``GET /health`` (the process is up), ``GET /ready`` (the bundle is loaded);
- ``GET /model``: the bundle's features, horizon, as-of date, training facts, versions and
  segment rules;
- ``POST /score``: customers given as the bundle's feature rows;
- ``POST /score/transactions``: customers given as their orders (validated like a log file).

Requests are checked by pydantic models built from the bundle's own features, so a wrong type, a
missing required feature, NaN or infinity, a negative count or an unknown field is a 422 naming
the field's path before anything reaches TensorFlow; more rows than ``max_batch`` or a body
larger than ``max_body_mb`` is a 413. With an API key configured every endpoint but ``/health``,
``/ready`` and the documentation needs the ``X-API-Key`` header (compared in constant time).
Every request is logged as one JSON line (request id, method, path, status, body bytes, rows,
latency); responses never carry a traceback.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from clv_core.errors import ClvError
from clv_core.language import Language
from clv_core.usecases.service import FeatureField, ScoringService
from clv_core.value import DEFAULT_ANNUAL_DISCOUNT_RATE, DEFAULT_MARGIN, ValueSettings

__all__ = ["ApiSettings", "create_app"]

LOGGER = logging.getLogger("clv_core.api")
_MEGABYTE = 1024 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Limits and access of one service: rows per request, body size, an optional API key."""

    max_batch: int = 10_000
    max_body_mb: float = 10.0
    api_key: str | None = None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Order(_Strict):
    """One order (or order line, or return with a negative amount) of a customer."""

    customer_id: Annotated[str, Field(min_length=1, max_length=200)]
    # ISO dates or date-times; an offset is dropped and the wall-clock time kept (as a log
    # file's dates are read).
    order_date: dt.datetime
    amount: float
    order_id: Annotated[str | None, Field(max_length=200)] = None


def _number_type(entry: FeatureField) -> Any:
    constraint = Field(ge=0) if entry.non_negative else Field()
    base = Annotated[float, constraint]
    if entry.required:
        return (base, ...)
    return (base | None, None)


def _customer_model(fields: tuple[FeatureField, ...]) -> type[BaseModel]:
    """The request row of one customer: an id and the bundle's features, nothing else."""
    definitions: dict[str, Any] = {
        "customer_id": (Annotated[str, Field(min_length=1, max_length=200)], ...)
    }
    for entry in fields:
        if entry.kind == "number":
            definitions[entry.name] = _number_type(entry)
        else:
            definitions[entry.name] = (Annotated[str | None, Field(max_length=200)], None)
    return create_model("CustomerFeatures", __base__=_Strict, **definitions)


class CustomerAttributesRow(BaseModel):
    """A customer's attributes (channel, region, signup date, ...), as in an attributes file."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    customer_id: Annotated[str, Field(min_length=1, max_length=200)]


# Gross margin as a share of revenue, and the annual discount rate (see clv_core.value).
_Margin = Annotated[float, Field(ge=0, le=1)]
_DiscountRate = Annotated[float, Field(ge=0, le=10)]
# The periods the value is discounted at the end of.
_Period = Literal["month", "week"]


class OrdersRequest(_Strict):
    """Customers given as their orders; scored at ``as_of`` (default: today, UTC)."""

    orders: Annotated[list[Order], Field(min_length=1)]
    customers: list[CustomerAttributesRow] | None = None
    as_of: dt.date | None = None
    language: Language = Language.EN
    explain: bool = False
    margin: _Margin = DEFAULT_MARGIN
    discount_rate: _DiscountRate = DEFAULT_ANNUAL_DISCOUNT_RATE
    period: _Period = "month"


def _score_model(service: ScoringService) -> type[BaseModel]:
    customer = _customer_model(service.fields)
    return create_model(
        "ScoreRequest",
        __base__=_Strict,
        customers=(list[customer], Field(min_length=1)),  # type: ignore[valid-type]
        language=(Language, Language.EN),
        explain=(bool, False),
        as_of=(dt.date | None, None),
        margin=(_Margin, DEFAULT_MARGIN),
        discount_rate=(_DiscountRate, DEFAULT_ANNUAL_DISCOUNT_RATE),
        period=(_Period, "month"),
    )


def create_app(service: ScoringService, settings: ApiSettings | None = None) -> FastAPI:
    """The API over a loaded service."""
    settings = settings or ApiSettings()
    score_model = _score_model(service)
    app = FastAPI(
        title="CLV scoring service",
        summary="Customer lifetime value of customers, from their features or their orders.",
        version=str(service.info.meta.get("versions", {}).get("clv_core", "")),
    )
    app.state.service = service
    if LOGGER.level == logging.NOTSET:
        LOGGER.setLevel(logging.INFO)
    app.state.settings = settings
    _add_error_handlers(app)
    checked = [Depends(_api_key(settings.api_key))]

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    def ready() -> dict[str, Any]:
        return {"status": "ready", "model": service.source}

    @app.get("/model", dependencies=checked)
    def model(language: Language = Language.EN) -> dict[str, Any]:
        return service.describe(language)

    def score(request: Request, body: Any) -> JSONResponse:
        customers = body.customers
        _check_batch(len(customers), settings, "customers")
        request.state.rows = len(customers)
        ids, columns = _columns(service, customers)
        if len(set(ids)) != len(ids):
            raise HTTPException(422, detail=_repeated(ids, "customers"))
        value = ValueSettings(
            margin=body.margin, annual_discount_rate=body.discount_rate, period=body.period
        )
        records = service.score_columns(
            ids,
            columns,
            language=body.language,
            explain=body.explain,
            value=value,
            as_of=body.as_of,
        )
        # Plain JSON values already: skip FastAPI's encoder, which costs more than the scoring
        # for one customer.
        return JSONResponse(
            {
                "horizon_days": service.info.horizon_days,
                "value": value.to_dict(),
                "customers": records,
            }
        )

    # The request model is built from the bundle: give FastAPI the class itself (this module's
    # annotations are strings, which FastAPI resolves only among module-level names).
    score.__annotations__["body"] = score_model
    app.post("/score", dependencies=checked)(score)

    @app.post("/score/transactions", dependencies=checked)
    def score_transactions(request: Request, body: OrdersRequest) -> JSONResponse:
        orders = body.orders
        _check_batch(len(orders), settings, "orders")
        request.state.rows = len(orders)
        frame = pd.DataFrame([order.model_dump() for order in orders])
        frame["order_date"] = pd.to_datetime(
            [order.order_date.replace(tzinfo=None) for order in orders]
        )
        if frame["order_id"].isna().all():
            frame = frame.drop(columns="order_id")
        attributes = None
        if body.customers:
            attributes = pd.DataFrame([row.model_dump() for row in body.customers])
        as_of = body.as_of or dt.datetime.now(dt.UTC).date()
        value = ValueSettings(
            margin=body.margin, annual_discount_rate=body.discount_rate, period=body.period
        )
        scored = service.score_orders(
            frame,
            as_of=as_of,
            attributes=attributes,
            language=body.language,
            explain=body.explain,
            value=value,
        )
        return JSONResponse(
            {
                "as_of": scored.as_of.isoformat(),
                "horizon_days": service.info.horizon_days,
                "value": value.to_dict(),
                "rows": scored.report,
                "customers": scored.customers,
            }
        )

    app.add_middleware(_Guarded, limit=int(settings.max_body_mb * _MEGABYTE))
    return app


def _columns(
    service: ScoringService, customers: list[Any]
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The request's rows as the columns the preprocessing reads."""
    ids = [customer.customer_id for customer in customers]
    columns: dict[str, np.ndarray] = {}
    for entry in service.fields:
        values = [getattr(customer, entry.name) for customer in customers]
        if entry.kind == "number":
            columns[entry.name] = np.array(
                [math.nan if value is None else value for value in values], dtype=np.float64
            )
        else:
            columns[entry.name] = np.array(values, dtype=object)
    return ids, columns


def _repeated(ids: list[str], where: str) -> list[dict[str, Any]]:
    seen: set[str] = set()
    for position, customer in enumerate(ids):
        if customer in seen:
            return [
                {
                    "loc": ["body", where, position, "customer_id"],
                    "msg": f"customer_id '{customer}' appears more than once; send each "
                    "customer once.",
                    "type": "value_error.repeated",
                }
            ]
        seen.add(customer)
    return []


def _check_batch(rows: int, settings: ApiSettings, what: str) -> None:
    if rows > settings.max_batch:
        raise HTTPException(
            413,
            detail=f"{rows} {what} in one request; this service takes at most "
            f"{settings.max_batch}. Split the request.",
        )


def _api_key(expected: str | None) -> Callable[..., None]:
    def check(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if expected is None:
            return
        given = (x_api_key or "").encode()
        if not hmac.compare_digest(given, expected.encode()):
            raise HTTPException(
                401, detail="Missing or wrong API key: send it in the X-API-Key header."
            )

    return check


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type")}
            for item in error.errors()
        ]
        return JSONResponse({"detail": details}, status_code=422)

    @app.exception_handler(ClvError)
    async def refused(request: Request, error: ClvError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> JSONResponse:
        LOGGER.error(
            json.dumps({"event": "error", "error": type(error).__name__, "message": str(error)})
        )
        return JSONResponse(
            {"detail": "The service failed on this request; the error is in its log."},
            status_code=500,
        )


class _Guarded:
    """ASGI wrapper: the body-size limit, a request id and one JSON log line per request."""

    def __init__(self, app: Asgi, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        record: dict[str, Any] = {"status": 500, "bytes": 0}
        state = scope.setdefault("state", {})
        try:
            body = await self._body(receive, record)
            if body is None:
                await _too_large(send, self.limit, request_id)
                record["status"] = 413
                return
            await self.app(scope, _replay(body, receive), self._stamped(send, request_id, record))
        finally:
            LOGGER.info(
                json.dumps(
                    {
                        "request_id": request_id,
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": record["status"],
                        "bytes": record["bytes"],
                        "rows": state.get("rows"),
                        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                )
            )

    async def _body(self, receive: Receive, record: dict[str, Any]) -> bytes | None:
        """The whole body, read before the app sees it; ``None`` once it passes the limit
        (declared or counted: a chunked upload has no Content-Length)."""
        parts: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            part = message.get("body", b"")
            record["bytes"] += len(part)
            if record["bytes"] > self.limit:
                return None
            parts.append(part)
            if not message.get("more_body", False):
                break
        return b"".join(parts)

    @staticmethod
    def _stamped(send: Send, request_id: str, record: dict[str, Any]) -> Send:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                record["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        return stamped


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the read body over once, then waits for the client as before."""
    pending = [body]

    async def replayed() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")[:100]
            if text.isprintable():
                return text
    return uuid.uuid4().hex


def _too_large_text(limit: int) -> str:
    return f"The request body is larger than {limit / _MEGABYTE:g} MB; split the request."


async def _too_large(send: Send, limit: int, request_id: str) -> None:
    body = json.dumps({"detail": _too_large_text(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- running it --------------------------------------------------------------------------------

_ENVIRONMENT = "CLV_SERVE_SETTINGS"


def configure_logging(level: str = "info") -> None:
    """Request lines as JSON on standard error (one per request)."""
    if not any(getattr(handler, "_clv_api", False) for handler in LOGGER.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._clv_api = True  # type: ignore[attr-defined]
        LOGGER.addHandler(handler)
    LOGGER.setLevel(level.upper())
    LOGGER.propagate = False


def serve(
    model: Path,
    *,
    host: str,
    port: int,
    workers: int,
    settings: ApiSettings,
    log_level: str = "info",
) -> None:
    """Load the bundle (refused as the command line refuses it) and serve until stopped.

    With several workers each process loads the bundle itself; it is checked here first, so a
    bundle that cannot be served is an error before any process starts.
    """
    import uvicorn

    from clv_core.errors import ConfigError
    from clv_core.usecases.service import load_service

    if workers < 1 or not 1 <= port <= 65535 or settings.max_batch < 1:
        raise ConfigError("--workers and --max-batch must be at least 1, --port 1 to 65535.")
    if settings.max_body_mb <= 0:
        raise ConfigError("--max-body-mb must be positive.")
    service = load_service(model)
    configure_logging(log_level)
    options: dict[str, Any] = {"host": host, "port": port, "log_level": log_level}
    if workers == 1:
        uvicorn.run(create_app(service, settings), access_log=False, **options)
        return
    os.environ[_ENVIRONMENT] = json.dumps(
        {"model": str(model), "log_level": log_level, **dataclasses.asdict(settings)}
    )
    uvicorn.run(
        "clv_core.api:app_from_environment",
        factory=True,
        workers=workers,
        access_log=False,
        **options,
    )


def app_from_environment() -> FastAPI:
    """The app of one worker process of ``serve --workers N`` (settings from the parent)."""
    from clv_core.usecases.service import load_service

    data = json.loads(os.environ[_ENVIRONMENT])
    configure_logging(data.pop("log_level"))
    service = load_service(Path(data.pop("model")))
    return create_app(service, ApiSettings(**data))
