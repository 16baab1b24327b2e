"""Conditional S3 writes on the embedded emulator are atomic, as in S3: of writers racing with the
same ETag (or to create the same key), exactly one wins and the others get PreconditionFailed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from flowfn import App, Bucket
from flowfn.testing import Harness, run_app

WRITERS = 6


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    from moto.s3.models import S3Backend

    store = S3Backend.put_object

    def slow_store(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.02)  # widens the window between a condition's check and the write
        return store(self, *args, **kwargs)

    monkeypatch.setattr(S3Backend, "put_object", slow_store)
    app = App("conditional")
    docs = Bucket("docs")

    @app.on_schedule("rate(1 day)", enabled=False, uses=[docs.write()])
    def idle() -> None: ...

    with run_app(app) as h:
        yield h


def _race(harness: Harness, **condition: str) -> tuple[list[str], list[str]]:
    s3 = harness.client("s3")
    won: list[str] = []
    lost: list[str] = []
    start = threading.Barrier(WRITERS)

    def write(n: int) -> None:
        start.wait()
        try:
            s3.put_object(Bucket=harness.bucket_name("docs"), Key="count.json", Body=str(n).encode(),
                          **condition)
            won.append(str(n))
        except ClientError as exc:
            lost.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won, lost


def test_one_of_the_writers_holding_an_etag_wins(harness: Harness) -> None:
    s3 = harness.client("s3")
    etag = s3.put_object(Bucket=harness.bucket_name("docs"), Key="count.json", Body=b"start")["ETag"]
    won, lost = _race(harness, IfMatch=etag)
    assert len(won) == 1 and lost == ["PreconditionFailed"] * (WRITERS - 1)
    assert s3.get_object(Bucket=harness.bucket_name("docs"), Key="count.json")["Body"].read().decode() == won[0]


def test_one_of_the_writers_creating_a_key_wins(harness: Harness) -> None:
    won, lost = _race(harness, IfNoneMatch="*")
    assert len(won) == 1 and lost == ["PreconditionFailed"] * (WRITERS - 1)
