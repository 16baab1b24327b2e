"""Shared fixtures of the synth tests: the fixture app, a generated large app, cfn-lint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flowfn.app import App, AppOrigin
from flowfn.loader import load_app
from flowfn.resources import Bucket, Queue
from flowfn.synth import Synthesis, SynthOptions, synthesize

FIXTURE_APP = Path(__file__).parent / "fixture_app" / "app.py"
CODE, LAYERS = "code-0123456789abcdef.zip", {"arm64": "deps-arm.zip", "x86_64": "deps-x86.zip"}


_runner: list[Any] = []


def lint_template(text: str) -> list[str]:
    """cfn-lint's findings (errors, warnings and informational) on one template.

    The same as ``cfnlint.api.lint(text)``, with its rules loaded once per process.
    """
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner.cli import Runner

    if not _runner:
        _runner.append(Runner(ConfigMixIn(regions=["us-east-1"])))
    template, errors = decode_str(text)
    matches = errors or list(_runner[0].validate_template(template))
    return [f"{m.rule.id} {m.message} ({m.path})" for m in matches]


def lint_all(texts: list[str]) -> list[list[str]]:
    """Lint several templates on both cores."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(2) as pool:
        return pool.map(lint_template, texts, chunksize=1)


@pytest.fixture
def lint() -> Callable[[str], list[str]]:
    return lint_template


@pytest.fixture
def lint_many() -> Callable[[list[str]], list[list[str]]]:
    return lint_all


@pytest.fixture
def fixture_app() -> App:
    return load_app(str(FIXTURE_APP), fresh=True)


@pytest.fixture
def fixture_synth(fixture_app: App) -> Synthesis:
    return synthesize(fixture_app, SynthOptions(python="3.11"), code_asset=CODE, layers=LAYERS)


def _noop(event: Any, context: Any) -> None:
    return None


def make_big_app(handlers: int = 200, buckets: int = 10, root: str = ".") -> App:
    """An app of ``handlers`` functions cycling through every trigger kind and grant."""
    app = App("big")
    stores = [Bucket(f"store-{i}") for i in range(buckets)]
    outs = [Queue(f"out{i}") for i in range(5)]
    for i in range(handlers):
        store = stores[i % buckets]
        kind = i % 5
        if kind == 0:
            app.on_http("GET" if i % 2 else "ANY", f"/items{i}/{{id}}", name=f"h{i}",
                        uses=[store.read(), store.list(f"p{i}/")])(_noop)
        elif kind == 1:
            queue = Queue(f"q{i}.fifo" if i % 3 == 0 else f"q{i}")
            app.on_sqs(queue, name=f"h{i}", batch_size=10, uses=[store.write(f"out{i}/")],
                       timeout_s=10 + i % 50)(_noop)
        elif kind == 2:
            app.on_schedule(f"cron({i % 60} 4 * * ? *)", timezone="Europe/Paris" if i % 2 else None,
                            name=f"h{i}", architecture="x86_64")(_noop)
        elif kind == 3:
            app.on_s3(store, prefix=f"in{i}/", suffix=".csv", name=f"h{i}",
                      uses=[store.delete(f"in{i}/")])(_noop)
        else:
            app.on_sqs(Queue(f"feed{i}"), batch=True, name=f"h{i}", uses=[outs[i % 5].send()],
                       reserved_concurrency=2)(_noop)
    app.origin = AppOrigin(root=root, module="big")
    return app


@pytest.fixture(scope="module")
def big_synth() -> Synthesis:
    return synthesize(make_big_app(), SynthOptions(python="3.11"), code_asset=CODE, layers=LAYERS)


@pytest.fixture
def big_app_factory() -> Callable[..., App]:
    return make_big_app
