"""What checking a handler's AWS calls against its policy costs.

Prints the time of the check alone (building the requests of one call and evaluating them against
a policy of a few statements), and the time of 200 PutObject calls from one handler to the embedded
emulator with ``permissions="enforce"`` and ``"off"``.

    PYTHONPATH=. python benchmarks/permissions_check.py
"""

from __future__ import annotations

import statistics
import time

import boto3

from flowfn import App, Bucket
from flowfn.permissions.evaluate import evaluate
from flowfn.permissions.requests import requests_for
from flowfn.testing import run_app

CALLS = 200


def check_alone(rounds: int = 20000) -> float:
    """Microseconds to build and evaluate the requests of one CopyObject call."""
    document = {"Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": ["arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*"]},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::src/*"]},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
         "Resource": ["arn:aws:s3:::dst/out/*"]},
    ]}
    params = {"Bucket": "dst", "Key": "out/a.txt", "CopySource": {"Bucket": "src", "Key": "a.txt"}}
    start = time.perf_counter()
    for _ in range(rounds):
        for request in requests_for("s3", "CopyObject", params, region="us-east-1", account="1") or []:
            evaluate(document, request)
    return (time.perf_counter() - start) / rounds * 1e6


def puts(mode: str) -> float:
    """Milliseconds per PutObject from a handler under ``mode``."""
    app = App("bench")
    out = Bucket("bench-out")

    @app.on_schedule("rate(1 day)", enabled=False, uses=[out.write()])
    def writer() -> float:
        s3 = boto3.client("s3")
        s3.put_object(Bucket=out.name, Key="warm", Body=b"x")
        start = time.perf_counter()
        for i in range(CALLS):
            s3.put_object(Bucket=out.name, Key=f"k{i}", Body=b"x")
        return (time.perf_counter() - start) / CALLS * 1000

    with run_app(app, permissions=mode) as harness:
        record = harness.fire("writer")
        assert record.ok, record.error
        return float(record.result)


def main() -> None:
    print(f"check alone (CopyObject: 2 requests, 3 statements): {check_alone():.1f} us per call")
    for mode in ("off", "enforce"):
        runs = [puts(mode) for _ in range(3)]
        print(f"PutObject from a handler, permissions={mode}: median {statistics.median(runs):.2f} ms "
              f"per call ({CALLS} calls x 3 runs: {', '.join(f'{r:.2f}' for r in runs)})")


if __name__ == "__main__":
    main()
