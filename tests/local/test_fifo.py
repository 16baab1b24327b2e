"""FIFO queues under failure: within a message group, successes come in send order after failed
messages, timed-out batches and expired visibility timeouts, under `flowfn run-local` and under
flowfn.testing; ``messages()`` lists a whole FIFO queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from flowfn.testing import Harness, run_app

from .conftest import APPS, CLI, wait_for

APP = APPS / "fifo.py"


def bodies(groups: dict[str, int], marks: dict[str, str]) -> list[tuple[str, str]]:
    """(group, body) pairs in send order, groups interleaved; ``marks`` maps ``g:n`` to a suffix."""
    longest = max(groups.values())
    return [(g, f"{g}:{n}" + (f":{marks[f'{g}:{n}']}" if f"{g}:{n}" in marks else ""))
            for n in range(longest) for g, count in groups.items() if n < count]


def send_all(sqs: Any, url: str, items: list[tuple[str, str]]) -> None:
    for start in range(0, len(items), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": body}
            for i, (group, body) in enumerate(items[start:start + 10])
        ])


def per_group(log: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for body in log:
        groups.setdefault(body.split(":")[0], []).append(body)
    return groups


def first_successes(log: list[str]) -> dict[str, list[str]]:
    """Each group's successes in the order each message first succeeded. A timed-out batch comes
    back whole (as in Lambda), so what succeeded in it before the timeout succeeds again."""
    return per_group(list(dict.fromkeys(log)))


def expected(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    return per_group([body for _, body in items if not body.endswith(":poison")])


# -- flowfn run-local, where visibility timeouts really expire ----------------------------------


@pytest.fixture
def run_local(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, Path]]:
    state, log = tmp_path / "state", tmp_path / "successes.txt"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "FIFO_TEST_LOG": str(log)}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [*CLI, "run-local", str(APP), "--port", "0", "--json", "--no-reload", "--no-mirror",
         "--state-dir", str(state)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        yield proc, state / "fifoapp" / "run.json", log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()



@pytest.mark.slow
def test_run_local_keeps_each_group_in_order_after_failures_and_expired_visibility(
        run_local: tuple[subprocess.Popen[str], Path, Path]) -> None:
    proc, run_json, log = run_local
    state = json.loads(wait_for(lambda: run_json.exists() and run_json.read_text().strip(), 60,
                                "run-local to start"))
    sqs = boto3.client("sqs", endpoint_url=state["endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    # Failed messages come back only when their visibility timeout (2 s) expires; moto then hands
    # out a group's last message first.
    items = bodies({"a": 6, "b": 6, "c": 4},
                   {"a:1": "fail", "a:3": "fail", "b:2": "slow", "c:0": "fail", "c:2": "fail"})
    send_all(sqs, state["queues"]["orders.fifo"], items)

    def successes() -> list[str]:
        return log.read_text().split() if log.exists() else []

    wanted = {body for _, body in items}
    wait_for(lambda: wanted <= set(successes()) or proc.poll() is not None, 60, "every success")
    assert first_successes(successes()) == expected(items)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


# -- flowfn.testing, where failed messages are retried at once ----------------------------------


@pytest.fixture(scope="module")
def fifo_app() -> Iterator[Harness]:
    with run_app(str(APP)) as harness:
        yield harness


def fresh(app: Harness) -> dict[str, Any]:
    app.clear()
    module = app.app.handler("take").fn.__globals__
    module["done"].clear()
    module["attempts"].clear()
    return module


@pytest.mark.parametrize("round_", range(3))
def test_groups_keep_their_order_through_retries_and_the_dlq(fifo_app: Harness, round_: int) -> None:
    module = fresh(fifo_app)
    name = f"r{round_}g"
    groups = {f"{name}{n}": 24 for n in range(8)}
    marks = {f"{name}{g}:{n}": "fail" for g in range(8) for n in range(g % 3, 24, 4)}
    poison = {f"{name}1:5", f"{name}6:22"}
    marks.update(dict.fromkeys(poison, "poison"))
    items = bodies(groups, marks)
    send_all(fifo_app.client("sqs"), fifo_app.queue_url("orders.fifo"), items)
    fifo_app.drain()
    dead = [body for body in fifo_app.messages("orders-dlq.fifo") if body.startswith(name)]
    # A message behind a poison one is received (and counted) with it in every batch, so it may
    # reach the DLQ too, as in Lambda. Nothing is lost, and each group's successes keep send order.
    assert {f"{p}:poison" for p in poison} <= set(dead)
    assert sorted(module["done"] + dead) == sorted(body for _, body in items)
    sent = per_group([body for _, body in items])
    assert per_group(module["done"]) == {g: [b for b in sent[g] if b not in dead] for g in sent}
    assert per_group(dead) == {g: [b for b in sent[g] if b in dead] for g in per_group(dead)}


def test_a_timed_out_batch_comes_back_in_order(fifo_app: Harness) -> None:
    module = fresh(fifo_app)
    items = bodies({"t": 12, "u": 12}, {"t:3": "slow", "u:7": "fail", "u:8": "fail"})
    send_all(fifo_app.client("sqs"), fifo_app.queue_url("orders.fifo"), items)
    fifo_app.drain()
    assert first_successes(module["done"]) == expected(items)
    assert [i.outcome for i in fifo_app.invocations("take") if i.outcome == "timeout"] == ["timeout"]


def test_messages_lists_every_message_of_a_fifo_queue_in_group_order(fifo_app: Harness) -> None:
    items = bodies({"x": 14, "y": 9, "z": 3}, {})
    send_all(fifo_app.client("sqs"), fifo_app.queue_url("unread.fifo"), items)
    listed = fifo_app.messages("unread.fifo")
    assert sorted(listed) == sorted(body for _, body in items)
    assert per_group(listed) == expected(items)
    assert fifo_app.messages("unread.fifo") == listed  # left in place


def test_messages_refuses_a_fifo_queue_of_another_emulator() -> None:
    from flowfn import App, Queue
    from flowfn.local.emulator import EmbeddedMoto

    app = App("elsewhere")
    app.declare(Queue("elsewhere.fifo"))
    other = EmbeddedMoto()
    other.start()
    try:
        with run_app(app, endpoint_url=other.endpoint_url) as harness:
            harness.send("elsewhere.fifo", "one", group_id="g", dedup_id="1")
            with pytest.raises(ValueError, match=r"'elsewhere.fifo' is a FIFO queue in another emulator"):
                harness.messages("elsewhere.fifo")
    finally:
        other.stop()


def message(mid: str, group: str, receives: int = 1) -> dict[str, Any]:
    return {"MessageId": mid, "Attributes": {"MessageGroupId": group, "ApproximateReceiveCount": str(receives)}}


def ids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["MessageId"] for m in messages]


def test_group_order_hands_back_what_comes_before_its_turn() -> None:
    from flowfn.local.sqs import GroupOrder

    order = GroupOrder(max_receives=3)
    checked: list[str] = []

    def queued(message: dict[str, Any]) -> bool:
        checked.append(message["MessageId"])
        return True

    fresh, back = order.admit([message("a1", "a"), message("a2", "a"), message("b1", "b")], set(), queued)
    assert (ids(fresh), ids(back)) == (["a1", "a2", "b1"], [])
    order.forget("a1", "a")
    order.returned([message("a2", "a")])
    # The emulator hands out a later message while a2 still waits to come back.
    fresh, back = order.admit([message("a3", "a"), message("b2", "b")], {"b1"}, queued)
    assert (ids(fresh), ids(back)) == ([], ["a3", "b2"])  # b1 is still in a handler's hands
    assert checked == ["a2"]
    fresh, back = order.admit([message("a2", "a", 2), message("a3", "a", 2)], set(), queued)
    assert (ids(fresh), ids(back)) == (["a2", "a3"], [])
    # Received for the last time and failed: due for the DLQ, so no longer in the way.
    order.returned([message("a2", "a", 3)])
    assert ids(order.admit([message("a3", "a", 3)], set(), queued)[0]) == ["a3"]


def test_group_order_stops_waiting_for_a_message_that_left_the_queue() -> None:
    from flowfn.local.sqs import GroupOrder

    order = GroupOrder(max_receives=None)
    order.admit([message("c1", "c"), message("c2", "c")], set(), lambda m: True)
    order.forget("c1", "c")
    order.returned([message("c2", "c")])
    # c3 comes while c2 waits; c2 is gone (purged, say), so c3 need not wait for it.
    fresh, back = order.admit([message("c3", "c")], set(), lambda m: m["MessageId"] != "c2")
    assert (ids(fresh), ids(back)) == (["c3"], [])


@pytest.mark.slow
def test_the_banners_send_command_for_a_fifo_queue_names_a_group_and_a_deduplication_id(
        run_local: tuple[subprocess.Popen[str], Path, Path]) -> None:
    proc, _, _ = run_local
    assert proc.stderr is not None
    banner: list[str] = []
    for line in iter(proc.stderr.readline, ""):
        banner.append(line)
        if line.startswith("Ctrl-C stops."):
            break
    (line,) = [line for line in banner if "aws sqs send-message" in line]
    assert "/orders.fifo --message-body '{}' --message-group-id demo --message-deduplication-id" in line
