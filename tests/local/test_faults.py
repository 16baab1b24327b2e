"""Fault injection: thousands of messages through handlers that raise at random, time out and
always fail on poison messages. Each message ends up succeeded or in its dead-letter queue, never
lost; a message succeeds twice only when a timed-out batch brought it back (Lambda delivers at
least once: what succeeded in a batch that then timed out runs again, or moves to the DLQ if that
was its last receive); and within each FIFO message group, successes keep send order and no
message reaches the handler while an earlier one is unresolved.

Run with ``pytest -s`` to see the figures.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from typing import Any

import pytest

from flowfn.testing import Harness, run_app

from .conftest import APPS

SEED = 20251129
STANDARD, FIFO, GROUPS = 3000, 1000, 20
POISON, RAISE, TIMEOUT = 0.01, 0.08, 0.004


def plan_messages(rng: random.Random) -> tuple[list[str], list[tuple[str, str]]]:
    """Standard bodies, and FIFO (group, body) pairs in send order; a body is ``kind:group:seq``."""
    def poison() -> str:
        return ":poison" if rng.random() < POISON else ""

    standard = [f"s:-:{n:04d}{poison()}" for n in range(STANDARD)]
    sequence: Counter[str] = Counter()
    fifo = []
    for _ in range(FIFO):
        group = f"g{rng.randrange(GROUPS):02d}"
        fifo.append((group, f"f:{group}:{sequence[group]:04d}{poison()}"))
        sequence[group] += 1
    return standard, fifo


def send(app: Harness, queue: str, entries: list[dict[str, Any]]) -> None:
    sqs, url = app.client("sqs"), app.queue_url(queue)
    for start in range(0, len(entries), 10):
        chunk = entries[start:start + 10]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), **e} for i, e in enumerate(chunk)])
        assert not answer.get("Failed"), answer["Failed"]


def seq(body: str) -> int:
    return int(body.split(":")[2])


def order_violations(fifo: list[str], calls: list[tuple[int, str, str]], successes: list[tuple[int, str]],
                     dead: set[str]) -> tuple[int, int]:
    """(successes out of send order, calls made while an earlier message of the group was
    unresolved), summed over the groups."""
    first_success: dict[str, int] = {}
    for tick, body in successes:
        first_success.setdefault(body, tick)
    last_call: dict[str, int] = {}
    for tick, body, _ in calls:
        last_call[body] = tick
    by_group: dict[str, list[str]] = {}
    for body in fifo:
        by_group.setdefault(body.split(":")[1], []).append(body)
    out_of_order = early_calls = 0
    for bodies in by_group.values():
        done = [first_success[b] for b in bodies if b in first_success]
        out_of_order += sum(1 for a, b in itertools.pairwise(done) if b < a)
        # When an earlier message was resolved: at its first success, or after its last call
        # when it went to the dead-letter queue instead.
        resolved = [first_success.get(b, last_call.get(b, -1) if b in dead else None) for b in bodies]
        position = {b: i for i, b in enumerate(bodies)}
        for tick, body, _ in calls:
            if body in position:
                earlier = resolved[:position[body]]
                early_calls += any(r is None or r > tick for r in earlier)
    return out_of_order, early_calls


@pytest.mark.slow
def test_injected_faults_lose_nothing_and_keep_fifo_order(capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    standard, fifo = plan_messages(rng)
    began = time.monotonic()
    with run_app(str(APPS / "faults.py")) as app:
        module = app.app.handler("work").fn.__globals__
        module["plan"].update({"seed": SEED, "raise": RAISE, "timeout": TIMEOUT})
        # All at once: the embedded emulator's queues cost the same however deep they are.
        send(app, "jobs", [{"MessageBody": b} for b in standard])
        send(app, "orders.fifo", [{"MessageBody": b, "MessageGroupId": g, "MessageDeduplicationId": b}
                                  for g, b in fifo])
        app.drain(timeout=120)
        dead = set(app.messages("jobs-dlq")) | set(app.messages("orders-dlq.fifo"))
        timed_out = {r["body"] for inv in app.invocations(outcome="timeout") for r in inv.event["Records"]}
        calls, successes = list(module["calls"]), list(module["successes"])
        invocations = len(app.invocations())
    elapsed = time.monotonic() - began

    wins = Counter(body for _, body in successes)
    actions = Counter(action for _, _, action in calls)
    fifo_bodies = [b for _, b in fifo]
    report: dict[str, dict[str, int]] = {}
    for kind, bodies in (("standard", standard), ("fifo", fifo_bodies)):
        report[kind] = {
            "sent": len(bodies),
            "succeeded": sum(1 for b in bodies if wins[b]),
            "succeeded once": sum(1 for b in bodies if wins[b] == 1),
            "duplicated": sum(1 for b in bodies if wins[b] > 1),
            "in DLQ": sum(1 for b in bodies if b in dead),
            "succeeded and in DLQ": sum(1 for b in bodies if wins[b] and b in dead),
            "lost": sum(1 for b in bodies if not wins[b] and b not in dead),
            "poison": sum(1 for b in bodies if b.endswith(":poison")),
        }
    out_of_order, early_calls = order_violations(fifo_bodies, calls, successes, dead)
    with capsys.disabled():
        print(f"\nfault injection (seed {SEED}): {elapsed:.1f} s, {invocations} invocations, "
              f"handler calls {dict(actions)}")
        for kind, figures in report.items():
            print(f"  {kind:8}  " + ", ".join(f"{k} {v}" for k, v in figures.items()))
        print(f"  fifo      {GROUPS} groups: successes out of order {out_of_order}, "
              f"calls while an earlier message was unresolved {early_calls}")

    for kind, bodies in (("standard", standard), ("fifo", fifo_bodies)):
        assert report[kind]["lost"] == 0, kind
        assert {b for b in bodies if b.endswith(":poison")} <= dead, kind
    assert set(wins) <= set(standard) | set(fifo_bodies)
    assert {b for b, n in wins.items() if n > 1} <= timed_out  # at-least-once, as in Lambda
    assert actions["timeout"] > 0 and actions["raise"] > 0  # the faults were injected
    assert out_of_order == 0
    assert early_calls == 0
