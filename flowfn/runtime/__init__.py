"""What a deployed function imports: the Lambda entry point, dispatch and the typed events.

Every function's Lambda handler is ``flowfn.runtime.handler``. It imports the app named by
``FLOWFN_APP`` once per cold start, finds the handler named by ``FLOWFN_FUNCTION`` and runs each
event through :func:`dispatch`, which run-local and flowfn.testing call too. Kept light: nothing
from the CLI, synth, boto3 or moto is imported here, and Powertools only on the first log line.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from flowfn.function import Handler
from flowfn.runtime.adapters import dispatch

if TYPE_CHECKING:
    from flowfn.runtime.context import LambdaContext
    from flowfn.runtime.dynamodb import DynamoDbBatch, DynamoDbRecord
    from flowfn.runtime.eventbridge import EventBridgeEvent
    from flowfn.runtime.events import SqsBatch, SqsRecord
    from flowfn.runtime.http import HTTPError, Request, Response
    from flowfn.runtime.kinesis import KinesisBatch, KinesisRecord
    from flowfn.runtime.log import logger
    from flowfn.runtime.s3 import S3Event, S3Record
    from flowfn.runtime.schedule import ScheduledEvent
    from flowfn.runtime.sns import SnsRecord

__all__ = [
    "DynamoDbBatch",
    "DynamoDbRecord",
    "EventBridgeEvent",
    "HTTPError",
    "KinesisBatch",
    "KinesisRecord",
    "LambdaContext",
    "Request",
    "Response",
    "S3Event",
    "S3Record",
    "ScheduledEvent",
    "SnsRecord",
    "SqsBatch",
    "SqsRecord",
    "dispatch",
    "handler",
    "logger",
]

#: Where each typed event (and the logger) lives: imported when first asked for, so a function's
#: cold start loads the events of its own kind only, and the logger when it logs.
_LAZY = {
    "logger": "log",
    "DynamoDbBatch": "dynamodb", "DynamoDbRecord": "dynamodb", "EventBridgeEvent": "eventbridge",
    "HTTPError": "http", "KinesisBatch": "kinesis", "KinesisRecord": "kinesis", "LambdaContext": "context",
    "Request": "http", "Response": "http", "S3Event": "s3", "S3Record": "s3",
    "ScheduledEvent": "schedule", "SnsRecord": "sns", "SqsBatch": "events", "SqsRecord": "events",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowfn.runtime' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"flowfn.runtime.{module}"), name)
    globals()[name] = value
    return value


APP_ENV = "FLOWFN_APP"
FUNCTION_ENV = "FLOWFN_FUNCTION"
LOG_LEVEL_ENV = "FLOWFN_LOG_LEVEL"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_loaded: dict[tuple[str, str], Handler] = {}
#: The table behind ``os.environ`` (CPython keeps the encoded variables in it; {} where it has no
#: such table). Two lookups in it tell whether FLOWFN_APP and FLOWFN_FUNCTION are still the ones
#: last resolved, for a tenth of what ``os.environ.get`` costs: in AWS they never change, but a
#: test may point the entry point at another function.
_raw_environ: dict[Any, Any] = getattr(os.environ, "_data", None) or {}
_APP_KEY, _FUNCTION_KEY = os.environ.encodekey(APP_ENV), os.environ.encodekey(FUNCTION_ENV)
#: (FLOWFN_APP's raw value, FLOWFN_FUNCTION's, the handler they named), once resolved.
_last: tuple[object, object, Handler] | None = None


def _target() -> Handler:
    app_target = os.environ.get(APP_ENV, "")
    function = os.environ.get(FUNCTION_ENV, "")
    key = (app_target, function)
    found = _loaded.get(key)
    if found is not None:
        return found
    if not app_target or not function:
        missing = " and ".join(n for n, v in ((APP_ENV, app_target), (FUNCTION_ENV, function)) if not v)
        raise RuntimeError(
            f"flowfn.runtime.handler: {missing} is not set. flowfn's template sets {APP_ENV} (the "
            f"app's module, as module or module:attribute) and {FUNCTION_ENV} (the handler's name) "
            "on every function; redeploy with `flowfn synth`, or set them on the function."
        )
    from flowfn.loader import load_app

    app = load_app(app_target)
    try:
        found = app.handler(function)
    except KeyError as exc:
        raise RuntimeError(
            f"flowfn.runtime.handler: {FUNCTION_ENV}={function!r}, but {exc.args[0]}. The deployed "
            "code and template disagree; synthesize and deploy them together."
        ) from None
    level = os.environ.get(LOG_LEVEL_ENV, "").upper()
    if level in _LEVELS and level != found.settings.log_level:
        # Changed on the deployed function (to debug it, say): the environment wins.
        found = found.replace(settings=found.settings.replace(log_level=level))
    _loaded[key] = found
    return found


def _resolve() -> Handler:
    """The handler the environment names, kept with the raw values that named it."""
    global _last
    found = _target()
    app, function = _raw_environ.get(_APP_KEY), _raw_environ.get(_FUNCTION_KEY)
    if app is not None and function is not None:
        _last = (app, function, found)
    return found


def _forget() -> None:
    """Resolve FLOWFN_APP and FLOWFN_FUNCTION again on the next event, as a new cold start would."""
    global _last
    _last = None
    _loaded.clear()


def handler(event: dict[str, Any], context: Any) -> Any:
    """The Lambda entry point of every flowfn function (``Handler: flowfn.runtime.handler``)."""
    last, raw = _last, _raw_environ
    if last is not None and raw.get(_APP_KEY) is last[0] and raw.get(_FUNCTION_KEY) is last[1]:
        return dispatch(last[2], event, context)
    return dispatch(_resolve(), event, context)
