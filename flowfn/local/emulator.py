"""The one seam between flowfn's local dispatcher and the AWS emulator it talks to.

An :class:`Emulator` is an endpoint URL with a lifecycle. :class:`EmbeddedMoto` starts moto's
threaded server on a free loopback port and is the default; :class:`RemoteEmulator` points at an
emulator the user runs (``--endpoint-url``), and flowfn neither starts, resets nor stops it.
Everything else (provisioning, sources, handlers' boto3 clients) only sees ``endpoint_url``.

Traffic to an emulator on a loopback address never goes through a proxy: flowfn's own clients
are made without one, and handlers see the loopback hosts in ``NO_PROXY`` (see ``environ``).
A user's ``HTTP_PROXY``/``HTTPS_PROXY`` still applies to every other endpoint.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from flowfn.errors import FlowfnError
from flowfn.local import inprocess, moto_patches

__all__ = ["DUMMY_ACCOUNT", "LOOPBACK_HOSTS", "AwsTarget", "EmbeddedMoto", "Emulator", "RemoteEmulator",
           "endpoint_for", "is_loopback"]

#: The account moto serves by default; local ARNs use it.
DUMMY_ACCOUNT = "123456789012"

#: Host names that reach this machine, as ``NO_PROXY`` lists them (urllib compares ``[::1]`` with
#: its brackets, requests without).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


def is_loopback(host: str) -> bool:
    """True for a host name or address on this machine (``localhost``, 127.0.0.0/8, ``::1``, and
    ``0.0.0.0``, which a client connecting to it reaches this machine through)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class Emulator(Protocol):
    """Where local AWS calls go: an endpoint URL, started before use and stopped after."""

    @property
    def endpoint_url(self) -> str: ...

    @property
    def embedded(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class EmbeddedMoto:
    """moto's threaded server on 127.0.0.1 and a free port, in this process.

    moto keeps its state in process-wide backends, so every embedded server of a process sees
    the same buckets and queues. The state is reset when the first one starts and when the last
    one stops; runs that overlap must use different resource names (see :func:`claim`).
    """

    _running = 0
    _lock = threading.Lock()

    embedded = True

    def __init__(self) -> None:
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def endpoint_url(self) -> str:
        if self._url is None:
            raise FlowfnError("the embedded emulator is not started; call start() first")
        return self._url

    def start(self) -> None:
        # moto's ThreadedMotoServer, with a short poll interval so stopping takes no half second.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        _quiet_werkzeug()
        _share_loader_with_moto()
        with EmbeddedMoto._lock:
            if EmbeddedMoto._running == 0:
                _reset_moto()
                moto_patches.install()
            EmbeddedMoto._running += 1
        app = DomainDispatcherApplication(create_backend_app)
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="flowfn-moto", daemon=True)
        self._thread.start()
        self._server = server
        self._url = f"http://127.0.0.1:{server.server_address[1]}"
        inprocess.serve(urlsplit(self._url).netloc, app)  # this process's calls skip the socket

    @classmethod
    def shared(cls) -> bool:
        """True when more than one embedded server runs in this process (their state is one)."""
        with cls._lock:
            return cls._running > 1

    def stop(self) -> None:
        if self._server is None:
            return
        if self._url is not None:
            inprocess.stop_serving(urlsplit(self._url).netloc)
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._url = None
        with EmbeddedMoto._lock:
            EmbeddedMoto._running -= 1
            if EmbeddedMoto._running == 0:
                _reset_moto()
                moto_patches.uninstall()


_claims: dict[str, object] = {}


def claim(names: set[str], owner: object) -> None:
    """Reserve resource names in the process-wide embedded state for ``owner`` (a local run).

    Raises FlowfnError naming the first one another live run holds: two runs sharing a bucket
    or queue would take each other's events.
    """
    with EmbeddedMoto._lock:
        taken = sorted(n for n in names if _claims.get(n, owner) is not owner)
        if taken:
            raise FlowfnError(
                f"{taken[0]} is in use by another flowfn run in this process (the embedded emulator's "
                "state is shared by the whole process). Stop that run first (for example, do not keep "
                "a module-scoped harness of an app with the same buckets or queues open), or give "
                "the resources different names."
            )
        for name in names:
            _claims[name] = owner


def release(owner: object) -> None:
    """Give back every name ``owner`` claimed."""
    with EmbeddedMoto._lock:
        for name in [n for n, o in _claims.items() if o is owner]:
            del _claims[name]


class RemoteEmulator:
    """An emulator that already runs elsewhere (LocalStack, a moto server): only its URL."""

    embedded = False

    def __init__(self, endpoint_url: str) -> None:
        self._url = check_endpoint(endpoint_url)

    @property
    def endpoint_url(self) -> str:
        return self._url

    def start(self) -> None:
        """Nothing to start: the user runs it."""

    def stop(self) -> None:
        """Nothing to stop: the user runs it."""


def check_endpoint(url: str) -> str:
    """Validate an ``--endpoint-url``: http(s) with a host. Returns it without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FlowfnError(
            f"--endpoint-url {url!r} is not an http(s) URL; give the emulator's address, for "
            "example http://127.0.0.1:4566"
        )
    if parts.hostname.endswith("amazonaws.com"):
        raise FlowfnError(
            f"--endpoint-url {url!r} is a real AWS endpoint; run-local and flowfn.testing only "
            "talk to emulators. To run in AWS, deploy the template `flowfn synth` writes."
        )
    return url.rstrip("/")


def endpoint_for(endpoint_url: str | None) -> Emulator:
    """The embedded moto server when no endpoint is named, else the named emulator."""
    return EmbeddedMoto() if endpoint_url is None else RemoteEmulator(endpoint_url)


@dataclass(frozen=True)
class AwsTarget:
    """Everything a boto3 client needs to reach the emulator, and nothing that reaches AWS."""

    endpoint_url: str
    region: str = "us-east-1"
    account: str = DUMMY_ACCOUNT

    def environment(self) -> dict[str, str]:
        """Variables that point plain ``boto3.client(...)`` calls at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }

    def client(self, service: str, *, wire: bool = False) -> Any:
        """A boto3 client bound to the emulator with dummy credentials.

        ``wire``: its answers keep blobs as the base64 text and timestamps as the Unix seconds the
        service sent, as Lambda's events carry them, rather than decoding blobs to bytes and
        timestamps to local-zone datetimes that the stream readers would turn straight back (the
        datetimes alone cost more than all else a reader does with a record).
        """
        from botocore.config import Config

        # proxies={} makes botocore skip HTTP(S)_PROXY; None lets it read them (remote emulators).
        local = is_loopback(urlsplit(self.endpoint_url).hostname or "")
        proxies: dict[str, str] | None = {} if local else None
        with _session_lock:
            return _shared_session("flowfn-wire" if wire else "flowfn").client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=64,
                              connect_timeout=5, read_timeout=30, proxies=proxies),
            )


_session_lock = threading.Lock()
_sessions: dict[str, Any] = {}


def _session(**kwargs: Any) -> Any:
    """A boto3 session on the process's one botocore data loader (callers hold ``_session_lock``).

    A loader caches what it reads: the service models, endpoint rules and the endpoints file,
    about 100 ms of JSON for S3 and SQS. Every session flowfn makes, and the session moto's
    backends list regions with, read them through one loader, so they are read once. Clients of
    flowfn's sessions send requests for the embedded emulator in-process (see ``inprocess``).
    """
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.register_component("data_loader", data_loader())
    core.register("before-send", inprocess.send, unique_id="flowfn-inprocess")
    return boto3.session.Session(botocore_session=core, **kwargs)


_loaders: list[Any] = []


def data_loader() -> Any:
    """The botocore data loader flowfn's sessions share (made on first use; it lists the services
    of its data folders through :mod:`flowfn.local.datafiles`)."""
    if not _loaders:
        from botocore.loaders import create_loader

        from flowfn.local.datafiles import list_once

        _loaders.append(list_once(create_loader()))
    return _loaders[0]


def _shared_session(name: str) -> Any:
    """A botocore session for flowfn's own clients (``flowfn``, or ``flowfn-wire`` for clients
    whose answers keep the wire's blobs and timestamps): it caches service models (6 ms a client,
    not 200). Callers hold ``_session_lock``: client creation is not thread-safe."""
    found = _sessions.get(name)
    if found is None:
        found = _sessions[name] = _session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        if name == "flowfn-wire":
            from botocore.parsers import ResponseParserFactory

            parsers = ResponseParserFactory()
            parsers.set_parser_defaults(blob_parser=_as_sent, timestamp_parser=_unix_seconds)
            found._session.register_component("response_parser_factory", parsers)
    return found


def _as_sent(value: str) -> str:
    return value


def _unix_seconds(value: Any) -> float:
    """A timestamp as Unix seconds: JSON services send numbers; others' text is parsed."""
    if isinstance(value, int | float):
        return float(value)
    from botocore.utils import parse_timestamp

    return float(parse_timestamp(value).timestamp())


def handler_session() -> Any:
    """The boto3 session handlers' ``boto3.client(...)`` calls use during a local run.

    Its credentials are the dummy ones; its region and endpoint come from each function's
    environment. It is created and warmed once per process, so a handler's first client is fast.
    """
    from flowfn.local import environ

    with _session_lock:
        found = _sessions.get("handlers")
        if found is None:
            # botocore reads its settings from the os.environ it finds when the session is made:
            # made within the layered view, it sees the running function's variables, whenever
            # it is first asked for (before any run too).
            with environ.installed():
                found = _session(aws_access_key_id="testing", aws_secret_access_key="testing")
            for service in ("s3", "sqs"):
                found.client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
            _sessions["handlers"] = found
        return found


def _share_loader_with_moto() -> None:
    # moto's backends list the regions of a service through a botocore session of their own:
    # on flowfn's loader, the endpoints file it reads is the one flowfn's clients read.
    from moto.core.base_backend import AccountSpecificBackend

    with _session_lock:
        AccountSpecificBackend.get_session()._session.register_component("data_loader", data_loader())


def _reset_moto() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def _quiet_werkzeug() -> None:
    log = logging.getLogger("werkzeug")
    if log.level == logging.NOTSET:
        log.setLevel(logging.WARNING)
