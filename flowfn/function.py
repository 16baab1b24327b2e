"""Per-function settings and the registered handler record."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from flowfn._frozen import Frozen
from flowfn.errors import ConfigError
from flowfn.resources import Grant, Resource
from flowfn.resources.base import code_ref
from flowfn.triggers.base import Trigger

Architecture = Literal["arm64", "x86_64"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10_240
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 1, 900
MIN_EPHEMERAL_MB, MAX_EPHEMERAL_MB = 512, 10_240
MAX_ENV_BYTES = 4096
MAX_FUNCTION_NAME = 64
#: Lambda's limits on asynchronous invocation: retries, and how long an event may wait (seconds).
MAX_ASYNC_RETRIES = 2
MIN_EVENT_AGE_S, MAX_EVENT_AGE_S = 60, 21_600

_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]+")
_ENV_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Lambda sets these itself and refuses them in a function's configuration.
_RESERVED_ENV = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})
_FLOWFN_ENV_PREFIX = "FLOWFN_"


class FunctionSettings(Frozen):
    """How a handler's Lambda function is configured. Validated on construction by the app."""

    name: str
    #: Memory in MB (128-10240); CPU scales with it.
    memory_mb: int = 256
    #: Timeout in seconds (1-900).
    timeout_s: int = 30
    #: Size of ``/tmp`` in MB (512-10240).
    ephemeral_storage_mb: int = 512
    #: Extra environment variables, as sorted (key, value) pairs.
    environment: tuple[tuple[str, str], ...] = ()
    #: Concurrent executions reserved for (and capping) this function; None for the shared pool.
    reserved_concurrency: int | None = None
    #: Processor architecture.
    architecture: Architecture = "arm64"
    #: Level of the function's structured logger.
    log_level: LogLevel = "INFO"
    #: What the function may touch beyond its trigger, declared with ``uses=[...]``.
    uses: tuple[Grant, ...] = ()
    #: Asynchronous triggers only: how many times Lambda retries a failed event (0-2; None: 2).
    retries: int | None = None
    #: Asynchronous triggers only: how long an event may wait to be run, in seconds (60-21600;
    #: None: Lambda's six hours).
    max_event_age_s: int | None = None
    #: Asynchronous triggers only: the queue that receives events the function gave up on (None:
    #: the app's queue of failed events).
    on_failure: Resource | None = None

    @property
    def async_settings(self) -> bool:
        """True when any asynchronous invocation setting is given."""
        return self.retries is not None or self.max_event_age_s is not None or self.on_failure is not None

    @property
    def env(self) -> dict[str, str]:
        return dict(self.environment)


def make_settings(
    *,
    name: str,
    memory_mb: int,
    timeout_s: int,
    ephemeral_storage_mb: int,
    environment: Mapping[str, str] | None,
    reserved_concurrency: int | None,
    architecture: str,
    log_level: str,
    uses: Iterable[Grant] | None,
    retries: int | None = None,
    max_event_age_s: int | None = None,
    on_failure: Resource | None = None,
) -> FunctionSettings:
    """Validate per-function settings; every error names the handler and the argument."""
    subject = f"handler {name!r}"
    if not (_FUNCTION_NAME.fullmatch(name) and len(name) <= MAX_FUNCTION_NAME):
        raise ConfigError(
            subject, "name",
            f"{name!r} is not a valid Lambda function name",
            f"use 1-{MAX_FUNCTION_NAME} letters, digits, '-' or '_' (pass name=... to the decorator)",
        )
    _check_range(subject, "memory_mb", memory_mb, MIN_MEMORY_MB, MAX_MEMORY_MB, "MB")
    _check_range(subject, "timeout_s", timeout_s, MIN_TIMEOUT_S, MAX_TIMEOUT_S, "seconds")
    _check_range(
        subject, "ephemeral_storage_mb", ephemeral_storage_mb, MIN_EPHEMERAL_MB, MAX_EPHEMERAL_MB,
        "MB",
    )
    if reserved_concurrency is not None:
        _check_range(subject, "reserved_concurrency", reserved_concurrency, 0, 10_000, "executions")
    if architecture not in ("arm64", "x86_64"):
        raise ConfigError(subject, "architecture", f"{architecture!r} is not a Lambda architecture",
                          "use 'arm64' or 'x86_64'")
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(subject, "log_level", f"{log_level!r} is not a log level",
                          "use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    if environment is not None and not isinstance(environment, Mapping):
        raise ConfigError(subject, "environment", f"{environment!r} is not a mapping of names to values",
                          "pass a dict such as environment={'STAGE': 'prod'}")
    env = dict(environment or {})
    for key, value in env.items():
        if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
            raise ConfigError(subject, "environment", f"{key!r} is not a valid variable name",
                              "start with a letter and use only letters, digits and '_'")
        if key in _RESERVED_ENV:
            raise ConfigError(subject, "environment", f"{key} is reserved by Lambda",
                              "choose another name")
        if key.startswith(_FLOWFN_ENV_PREFIX):
            raise ConfigError(subject, "environment", f"{key} uses the FLOWFN_ prefix flowfn "
                              "sets itself", "choose a name without that prefix")
        if not isinstance(value, str):
            raise ConfigError(subject, "environment", f"the value of {key} is {type(value).__name__}, "
                              "not str", f"pass str({value!r})")
    size = env_size(env)
    if size > MAX_ENV_BYTES:
        raise ConfigError(
            subject, "environment",
            f"the variables take {size} bytes, over Lambda's {MAX_ENV_BYTES}-byte total",
            "move large values to a bucket object or SSM parameter and keep only its name here",
        )
    if isinstance(uses, Grant):
        raise ConfigError(subject, "uses", f"{uses.describe()} is one grant, not a list of them",
                          f"wrap it in a list: uses=[{code_ref(uses.resource)}.{uses.access.value}()]")
    if uses is not None and (not isinstance(uses, Iterable) or isinstance(uses, (str, bytes, Mapping))):
        raise ConfigError(subject, "uses", f"{uses!r} is not a list of grants",
                          "list grants such as uses=[uploads.read(), thumbnails.write(), jobs.send()]")
    grants = tuple(uses or ())
    for grant in grants:
        if not isinstance(grant, Grant):
            raise ConfigError(
                subject, "uses",
                f"{grant!r} is not a grant",
                "list grants such as uploads.read(), thumbnails.write() or jobs.send()",
            )
        _check_grant(subject, grant)
    if retries is not None:
        _check_range(subject, "retries", retries, 0, MAX_ASYNC_RETRIES, "retries")
    if max_event_age_s is not None:
        _check_range(subject, "max_event_age_s", max_event_age_s, MIN_EVENT_AGE_S, MAX_EVENT_AGE_S, "seconds")
    return FunctionSettings(
        name=name,
        memory_mb=memory_mb,
        timeout_s=timeout_s,
        ephemeral_storage_mb=ephemeral_storage_mb,
        environment=tuple(sorted(env.items())),
        reserved_concurrency=reserved_concurrency,
        architecture=architecture,  # type: ignore[arg-type]
        log_level=log_level,  # type: ignore[arg-type]
        uses=grants,
        retries=retries,
        max_event_age_s=max_event_age_s,
        on_failure=on_failure,
    )


def env_size(env: Mapping[str, str]) -> int:
    """Bytes Lambda counts toward its 4 KB limit: every key and value, UTF-8 encoded."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in env.items())


def _check_range(subject: str, argument: str, value: object, low: int, high: int, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(subject, argument, f"{value!r} is not a whole number",
                          f"pass an int between {low} and {high}")
    if not low <= value <= high:
        raise ConfigError(
            subject, argument,
            f"{value} {unit} is outside Lambda's range of {low}-{high} {unit}",
            f"choose a value between {low} and {high}",
        )


def _check_grant(subject: str, grant: Grant) -> None:
    accesses = grant.resource.accesses
    if grant.access not in accesses:
        raise ConfigError(subject, "uses", f"{grant.describe()} is not a valid grant",
                          f"a {type(grant.resource).__name__} grants {sorted(a.value for a in accesses)}")


class Handler(Frozen):
    """A registered handler: the user's function, its trigger and its function settings."""

    fn: Callable[..., Any]
    trigger: Trigger
    settings: FunctionSettings
    #: How many positional arguments the runtime passes ``fn`` (a prefix of trigger.passes).
    arity: int

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def module(self) -> str:
        return self.fn.__module__

    @property
    def qualname(self) -> str:
        return self.fn.__qualname__

    def resources(self) -> tuple[Resource, ...]:
        """Every resource this function touches: its trigger's source, then its grants."""
        seen: dict[tuple[str, str], Resource] = {}
        for res in (*self.trigger.resources(), *(g.resource for g in self.settings.uses)):
            seen.setdefault((res.kind, res.logical_name), res)
        return tuple(seen.values())
