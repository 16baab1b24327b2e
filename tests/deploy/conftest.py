"""Fixtures for deploy tests: moto's server on a loopback port, fake credentials whose secret is
recognisable in any output, and a layer cache so a deploy never runs pip."""

from __future__ import annotations

import io
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from flowfn.cli import cli
from flowfn.loader import load_app
from flowfn.local.emulator import EmbeddedMoto
from flowfn.synth import SynthOptions, current_python, synth_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
APPS = Path(__file__).resolve().parent / "apps"
#: The secret key of every deploy test: no output may ever contain it.
SECRET = "fLoWfNsEcReTkEyThAtMuStNeVeRpRiNt0123456789"
REGION = "eu-west-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials in the environment, no profile or endpoint from outside, no config files."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN",
                 "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFLOWFNTESTKEY000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def moto_url(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server on 127.0.0.1 and a free port, stopped (and its state reset) after the test.

    moto 5.2 resolves a ``Ref`` to an ``AWS::Lambda::LayerVersion`` to its model object rather
    than its ARN, so updating any function with a layer fails inside moto (a 500); the layer model
    gets the physical id CloudFormation gives a layer version, its ARN.
    """
    from moto.awslambda.models import LayerVersion

    if not hasattr(LayerVersion, "physical_resource_id"):
        monkeypatch.setattr(LayerVersion, "physical_resource_id", property(lambda self: self.arn),
                            raising=False)
    server = EmbeddedMoto()
    server.start()
    try:
        yield server.endpoint_url
    finally:
        server.stop()


#: pytest's base temporary folder, where copies of the examples live (set once per session).
_TEMP_ROOTS: list[Path] = []


@pytest.fixture(autouse=True, scope="session")
def _temp_root(tmp_path_factory: pytest.TempPathFactory) -> None:
    _TEMP_ROOTS[:] = [tmp_path_factory.getbasetemp().resolve()]


def _forget_apps(before: dict[str, Any]) -> None:
    """Drop the apps' modules imported since ``before`` (new names, and names now bound to another
    module: the loader replaces an ``app`` another test imported from elsewhere): those of
    tests/deploy/apps and of copies of the examples under pytest's temporary folder, never flowfn's
    or a library's (a checkout or a virtualenv may itself live under the system's temporary folder)."""
    roots = (APPS, *_TEMP_ROOTS)
    for name, module in list(sys.modules.items()):
        if before.get(name) is module:
            continue
        file = getattr(module, "__file__", None) or ""
        if file and any(Path(file).resolve().is_relative_to(root) for root in roots):
            del sys.modules[name]


@pytest.fixture
def restore_imports() -> Iterator[None]:
    """Undo what loading an app does to sys.path and sys.modules."""
    path, modules = list(sys.path), dict(sys.modules)
    yield
    sys.path[:] = path
    _forget_apps(modules)


def _layer_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("python/placeholder.py", "")
    return buffer.getvalue()


@pytest.fixture
def layer_cache(tmp_path: Path) -> Callable[[str], Path]:
    """``layer_cache(app_path)``: a cache folder holding the app's dependency layers, so deploy's
    bundling step finds them built and never runs pip."""
    cache = tmp_path / "cache"

    def fill(app_path: str) -> Path:
        path, modules = list(sys.path), dict(sys.modules)
        try:
            app = load_app(app_path, fresh=True)
            output = synth_app(app, SynthOptions(python=current_python()))
        finally:
            sys.path[:] = path
            _forget_apps(modules)
        (cache / "layers").mkdir(parents=True, exist_ok=True)
        for name in output.missing_layers:
            (cache / "layers" / name).write_bytes(_layer_zip())
        return cache

    return fill


@pytest.fixture
def copy_example(tmp_path: Path) -> Callable[[str], Path]:
    """``copy_example("cron")``: the example's folder copied under tmp_path; returns its app.py."""

    def copy(name: str) -> Path:
        target = tmp_path / "apps" / name
        shutil.copytree(EXAMPLES / name, target)
        return target / "app.py"

    return copy


class Flowfn:
    """Runs flowfn commands in this process against the test's moto server."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.outputs: list[str] = []

    def __call__(self, *args: str, endpoint: bool = True, region: bool = True) -> Result:
        extra = (["--endpoint-url", self.endpoint_url] if endpoint else []) + (
            ["--region", REGION] if region else [])
        path, modules = list(sys.path), dict(sys.modules)
        try:  # each command imports the app afresh, as a new process would
            result = CliRunner().invoke(cli, [*args, *extra])
        finally:
            sys.path[:] = path
            _forget_apps(modules)
        self.outputs.append(result.output)
        assert SECRET not in result.output
        return result

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION)


@pytest.fixture
def flowfn(moto_url: str, restore_imports: None) -> Flowfn:
    """``flowfn("deploy", app, "--stack", "s", "--yes")``: a command against the moto server."""
    return Flowfn(moto_url)
