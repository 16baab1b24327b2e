"""A source's own errors are said once per kind, counted after that, and only the latest kept."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from flowfn import App, Queue
from flowfn.local.faults import KEEP, Faults
from flowfn.local.sqs import SqsPoller
from flowfn.testing import run_app


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_each_kind_is_logged_once_counted_and_the_list_stays_small(caplog: pytest.LogCaptureFixture) -> None:
    faults = Faults("handler 'work''s poller of queue 'jobs'")
    with caplog.at_level(logging.WARNING, logger="flowfn.local"):
        for _ in range(KEEP * 3):
            faults.append(ConnectionError("the emulator went away"))
        faults.append(_Unprintable())
        for n in range(KEEP * 2):
            faults.append(ValueError(f"odd answer {n}"))
    said = [r.getMessage() for r in caplog.records if r.name == "flowfn.local"]
    assert said[0] == ("handler 'work''s poller of queue 'jobs': ConnectionError: the emulator went away "
                       "(it goes on; the same error again is counted, not shown)")
    assert said[1].endswith(": _Unprintable (it goes on; the same error again is counted, not shown)")
    assert said[-1].endswith(f"more than {KEEP} kinds of error; the rest are counted, not shown")
    assert len(said) == KEEP + 1  # KEEP kinds, then the one line for the rest
    assert faults.counts[("ConnectionError", "the emulator went away")] == KEEP * 3
    assert sum(faults.counts.values()) == KEEP * 5 + 1
    assert len(faults) == KEEP and isinstance(faults[-1], ValueError)
    assert faults != [] and Faults("x") == []


def test_a_queue_deleted_under_its_poller_is_said_once_and_the_run_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    app = App("gone")
    jobs = Queue("jobs")

    @app.on_sqs(jobs)
    def work(record: Any) -> None: ...

    with caplog.at_level(logging.WARNING, logger="flowfn.local"), run_app(app) as h:
        h.client("sqs").delete_queue(QueueUrl=h.queue_url(jobs))
        poller = h.local.source(SqsPoller)
        deadline = time.monotonic() + 10
        while len(poller.errors) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        errors = list(poller.errors)
    assert len(errors) >= 5
    said = [r.getMessage() for r in caplog.records if r.name == "flowfn.local"]
    assert len([m for m in said if m.startswith("handler 'work''s poller of queue 'jobs': ")]) == 1, said
    assert "NonExistentQueue" in said[0] or "does not exist" in said[0], said


def test_a_checkpoint_file_that_cannot_be_written_is_said_when_it_starts_failing(
        tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    from flowfn.local.checkpoints import Checkpoints

    folder = tmp_path / "checkpoints"
    checkpoints = Checkpoints(folder / "on_click.json")
    checkpoints.set("shardId-000000000000", "1")
    folder.rename(tmp_path / "moved")
    folder.write_text("a file where the folder was")
    with caplog.at_level(logging.WARNING, logger="flowfn.local"):
        for n in range(2, 6):
            checkpoints.set("shardId-000000000000", str(n))
    said = [r.getMessage() for r in caplog.records if r.name == "flowfn.local"]
    assert len(said) == 1 and said[0].startswith("handler 'on_click': its stream checkpoints cannot be written")
    assert checkpoints.error is not None and checkpoints.get("shardId-000000000000") == "5"
    folder.unlink()
    checkpoints.set("shardId-000000000000", "6")
    assert checkpoints.error is None
    assert (folder / "on_click.json").read_text() == '{"shardId-000000000000": "6"}'
