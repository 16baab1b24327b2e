"""Per-invocation environments for handlers that run as threads of one process.

In Lambda each function has a process, and its environment variables are its own. Locally many
functions run at once in one process, so ``os.environ`` is replaced, while a local run is active,
by a view that shows each invocation the environment of its own function: a layer of variables
held in a context variable, over the real environment with some variables hidden (another
function's ``FLOWFN_*`` bindings, service-specific endpoint overrides, the user's AWS profile).
Outside an invocation the view is the real environment, unchanged. Writes outside an invocation
go to the real environment; writes inside one stay in that invocation's layer.

Inside a layer, ``NO_PROXY`` and ``no_proxy`` always name the loopback hosts (and the emulator's
host when it is one) on top of the user's own list, so a handler's clients reach the emulator
directly even when ``HTTP_PROXY``/``HTTPS_PROXY`` are set; clients of remote endpoints keep the
proxy. botocore and urllib decide per endpoint, from these variables, when a client is created.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flowfn.local.emulator import LOOPBACK_HOSTS, is_loopback

__all__ = ["Layer", "active_layer", "installed", "layer"]

#: Prefixes and names hidden from handlers: their values would point boto3 elsewhere or leak
#: another function's bindings.
_HIDDEN_PREFIXES = ("FLOWFN_", "AWS_ENDPOINT_URL_")
_HIDDEN_NAMES = frozenset({
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
})


@dataclass
class Layer:
    """The variables one invocation (or an app import) sees on top of the real environment."""

    values: dict[str, str]
    removed: set[str] = field(default_factory=set)

    def hides(self, key: str) -> bool:
        if key in self.values:
            return False
        return key in self.removed or key in _HIDDEN_NAMES or key.startswith(_HIDDEN_PREFIXES)


#: Read inside a layer as the user's list plus the loopback hosts (urllib prefers the lower case).
_NO_PROXY = ("no_proxy", "NO_PROXY")


_LAYER: ContextVar[Layer | None] = ContextVar("flowfn_env_layer", default=None)


def active_layer() -> Layer | None:
    """The layer of the running invocation, or None outside one."""
    return _LAYER.get()


class _LayeredEnviron(os._Environ[str]):
    """os.environ with the active layer on top; shares the real environment's storage."""

    def __init__(self, base: os._Environ[str]) -> None:
        super().__init__(base._data, base.encodekey, base.decodekey,  # type: ignore[attr-defined]
                         base.encodevalue, base.decodevalue)

    def __getitem__(self, key: str) -> str:
        current = _LAYER.get()
        if current is not None and key in _NO_PROXY:
            return self._no_proxy(current)
        return self._lookup(current, key)

    def _lookup(self, current: Layer | None, key: str) -> str:
        if current is not None:
            if key in current.values:
                return current.values[key]
            if current.hides(key):
                raise KeyError(key)
        return super().__getitem__(key)

    def _no_proxy(self, current: Layer) -> str:
        """The user's no-proxy list as urllib reads it (``no_proxy`` first), plus the loopback hosts."""
        own = ""
        for key in _NO_PROXY:
            try:
                own = self._lookup(current, key)
                break
            except KeyError:
                continue
        if own.strip() == "*":
            return own
        names = [n.strip() for n in own.split(",") if n.strip()]
        extra = list(LOOPBACK_HOSTS)
        endpoint = urlsplit(current.values.get("AWS_ENDPOINT_URL", "")).hostname
        if endpoint and is_loopback(endpoint):
            extra.append(endpoint)
        return ",".join(names + [n for n in extra if n not in names])

    def __setitem__(self, key: str, value: str) -> None:
        current = _LAYER.get()
        if current is None:
            super().__setitem__(key, value)
            return
        if not isinstance(value, str):
            raise TypeError(f"str expected, not {type(value).__name__}")
        current.values[key] = value
        current.removed.discard(key)

    def __delitem__(self, key: str) -> None:
        current = _LAYER.get()
        if current is None:
            super().__delitem__(key)
            return
        if key not in self:
            raise KeyError(key)
        current.values.pop(key, None)
        current.removed.add(key)

    def __iter__(self) -> Iterator[str]:
        current = _LAYER.get()
        if current is None:
            yield from super().__iter__()
            return
        yield from _NO_PROXY
        seen = set(current.values) | set(_NO_PROXY)
        yield from (key for key in current.values if key not in _NO_PROXY)
        for key in list(super().__iter__()):
            if key not in seen and not current.hides(key):
                yield key

    def __len__(self) -> int:
        if _LAYER.get() is None:
            return super().__len__()
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def copy(self) -> dict[str, str]:
        return dict(self)


_lock = threading.Lock()
_users = 0
_original: os._Environ[str] | None = None


@contextmanager
def installed() -> Iterator[None]:
    """Replace ``os.environ`` by the layered view for the duration (re-entrant, thread-safe)."""
    global _users, _original
    with _lock:
        if _users == 0:
            _original = os.environ
            os.environ = _LayeredEnviron(_original)  # noqa: B003 (a view, nothing to clear)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _original is not None:
                os.environ = _original  # noqa: B003
                _original = None


@contextmanager
def layer(values: Mapping[str, str]) -> Iterator[Layer]:
    """Run the block with ``values`` as the current context's environment layer."""
    current = Layer(dict(values))
    token = _LAYER.set(current)
    try:
        yield current
    finally:
        _LAYER.reset(token)
