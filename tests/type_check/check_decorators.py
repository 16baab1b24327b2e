"""Checked by `mypy --strict` in the suite: decorated handlers keep their exact types.

`assert_type` fails type checking if a decorator widened a signature, and every
`type: ignore[...]` below must be needed (strict mode reports unused ignores), which proves
that a wrongly typed call to a decorated handler is still caught.
"""

from __future__ import annotations

from typing import assert_type

from flowfn import App, Bucket, EventBus, Queue, Topic, on_event, on_http, on_s3, on_schedule, on_sns, on_sqs

uploads = Bucket("uploads")
jobs = Queue("jobs")
app = App("typed")


@on_s3(uploads, prefix="in/")
def resize(record: dict[str, str], context: object) -> int:
    return len(record)


@on_sqs(jobs, batch_size=5)
def work(record: str, context: object) -> list[str]:
    return [record]


@on_schedule("rate(1 hour)")
def tick() -> None:
    return None


@on_http("GET", "/items/{id}")
def get_item(request: bytes) -> dict[str, int]:
    return {"size": len(request)}


@on_sns(Topic("ready"), filter_policy={"kind": ["image"]})
def notified(record: str, context: object) -> bool:
    return bool(record)


@on_event({"source": ["shop"]}, bus=EventBus("orders"))
def routed(event: bytes) -> float:
    return float(len(event))


@app.on_s3(uploads, prefix="other/")
def method_form(record: dict[str, str], context: object) -> int:
    return 0


assert_type(resize({"key": "a"}, None), int)
assert_type(work("body", None), list[str])
assert_type(tick(), None)
assert_type(get_item(b"x"), dict[str, int])
assert_type(method_form({}, None), int)
assert_type(notified("m", None), bool)
assert_type(routed(b"e"), float)

resize("not a dict", None)  # type: ignore[arg-type]
work(1, None)  # type: ignore[arg-type]
tick(1)  # type: ignore[call-arg]
notified(1, None)  # type: ignore[arg-type]
routed("e")  # type: ignore[arg-type]
