"""What a deployed function imports: the Lambda entry point, dispatch and the typed events.

Every function's Lambda handler is ``flowfn.runtime.handler``. Lambda looks it up once, when the
function starts (its init phase): the lookup imports the app named by ``FLOWFN_APP``, finds the
handler named by ``FLOWFN_FUNCTION``, prepares how its kind runs each event and returns the entry
that runs them, the same runner :func:`dispatch` uses in run-local and flowfn.testing. Kept light:
nothing from the CLI, synth, boto3 or moto is imported here, and Powertools only on the first log
line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flowfn.function import Handler
from flowfn.runtime import invocation
from flowfn.runtime.adapters import dispatch, runner

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
    "logger",
]
# ``handler`` is left out of __all__: a star import must not resolve the entry point (and with it
# the app, which may be the module doing the star import).

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
    if name == "handler":  # looked up again each time: a test may point it at another function
        return _entry() if os.environ.get(APP_ENV) and os.environ.get(FUNCTION_ENV) else _unresolved
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

Entry = Callable[[dict[str, Any], Any], Any]
#: The entry of each (FLOWFN_APP, FLOWFN_FUNCTION) resolved, until _forget().
_loaded: dict[tuple[str, str], Entry] = {}
_resolving: set[tuple[str, str]] = set()
_slot = invocation.lambda_invocation

if TYPE_CHECKING:
    def handler(event: dict[str, Any], context: Any) -> Any:
        """The Lambda entry point of every flowfn function (``Handler: flowfn.runtime.handler``)."""


def _target() -> Handler:
    app_target = os.environ.get(APP_ENV, "")
    function = os.environ.get(FUNCTION_ENV, "")
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
    return found


def _entry() -> Entry:
    """The entry of the handler FLOWFN_APP and FLOWFN_FUNCTION name: the app is imported, and the
    handler's runner prepared, on the first lookup (in AWS, the function's init phase)."""
    key = (os.environ.get(APP_ENV, ""), os.environ.get(FUNCTION_ENV, ""))
    found = _loaded.get(key)
    if found is None:
        if key in _resolving:  # looked up by the app while the lookup imports it: resolved when called
            return _unresolved
        _resolving.add(key)
        try:
            found = _loaded[key] = _entry_of(_target())
        finally:
            _resolving.discard(key)
    return found


def _entry_of(found: Handler) -> Entry:
    run = runner(found)
    first = True

    def handler(event: dict[str, Any], context: Any) -> Any:
        # Lambda runs one invocation at a time in a process: it is written to the process's slot,
        # not set in the context variable (see flowfn.runtime.invocation).
        nonlocal first
        if first:
            first = False
            _slot[0] = (found, context, invocation.cold_start(found.settings.name))
        else:
            _slot[0] = (found, context, False)
        return run(event, context)
    return handler


def _unresolved(event: dict[str, Any], context: Any) -> Any:
    """``flowfn.runtime.handler`` while FLOWFN_APP or FLOWFN_FUNCTION is unset, or as the app's
    own import found it: each event looks again (and fails with a RuntimeError naming what is
    missing)."""
    if not (os.environ.get(APP_ENV) and os.environ.get(FUNCTION_ENV)):
        _target()  # raises, naming the variable
    return _entry()(event, context)


def _forget() -> None:
    """Resolve FLOWFN_APP and FLOWFN_FUNCTION again on the next lookup, as a new cold start would,
    and leave the last invocation (no other is running)."""
    _loaded.clear()
    _slot[0] = None
