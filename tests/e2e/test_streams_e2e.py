"""The streams example end to end through flowfn.testing: HTTP and files into Kinesis, per-minute
totals in DynamoDB counted once under retries, alerts from the table's stream, bad records aside."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowfn.testing import run_app

APP = Path(__file__).resolve().parents[2] / "examples" / "streams" / "app.py"

pytestmark = pytest.mark.slow


def _event(i: int, key: str = "sensor-1", second: int = 0) -> dict[str, object]:
    return {"id": f"e-{i}", "key": key, "ts": f"2024-05-01T13:05:{second:02d}Z", "value": 1.5}


def test_events_flow_from_http_and_files_through_kinesis_and_dynamodb_into_alerts() -> None:
    with run_app(str(APP)) as h:
        answer = h.post("/events", json=[_event(i) for i in range(3)] + [_event(90, key="other")])
        assert answer.status == 202 and json.loads(answer.body) == {"accepted": 4}
        lines = [_event(3), _event(4), {"id": "bad", "key": "sensor-1"}, _event(5), _event(1)]  # e-1 again
        h.upload("inbox", "incoming/batch.jsonl", "\n".join(json.dumps(e) for e in lines))
        h.drain()

        minute = h.get_item("minutes", {"pk": "sensor-1#2024-05-01T13:05"})
        assert minute is not None
        assert int(minute["count"]) == 6 and float(minute["total"]) == 9.0  # e-0..e-5, e-1 once
        assert minute["ids"] == {f"e-{i}" for i in range(6)}
        other = h.get_item("minutes", {"pk": "other#2024-05-01T13:05"})
        assert other is not None and int(other["count"]) == 1

        alerts = [json.loads(m) for m in h.messages("alerts")]
        assert [(a["key"], a["count"]) for a in alerts] == [("sensor-1", 5)]  # one alert, at the crossing
        failed = [json.loads(m) for m in h.messages("bad-batches")]
        assert len(failed) == 1 and failed[0]["KinesisBatchInfo"]["batchSize"] == 1
        assert failed[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"

