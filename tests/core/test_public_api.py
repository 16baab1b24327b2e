"""The public surface is explicit and pinned: a change to it is a reviewed diff."""

from __future__ import annotations

import subprocess
import sys

import flowfn

PUBLIC = [
    "App", "AppLoadError", "Bucket", "ConfigError", "DynamoDbBatch", "DynamoDbRecord", "EventBridgeEvent",
    "EventBus", "FlowfnError", "Grant", "HTTPError", "Index", "KinesisBatch", "KinesisRecord", "LambdaContext",
    "NotBoundError", "Queue", "Request", "Response", "S3Event", "S3Record", "ScheduledEvent", "SnsRecord",
    "SqsBatch", "SqsRecord", "Stream", "Table", "Topic", "__version__", "logger", "on_dynamodb_stream",
    "on_event", "on_http", "on_kinesis", "on_s3", "on_schedule", "on_sns", "on_sqs"
]


def test_all_is_pinned() -> None:
    assert sorted(flowfn.__all__) == PUBLIC
    for name in flowfn.__all__:
        assert hasattr(flowfn, name), name


def test_importing_flowfn_stays_light() -> None:
    code = (
        "import sys, flowfn\n"
        "heavy = [m for m in ('boto3', 'botocore', 'moto', 'typer', 'rich', 'pydantic', "
        "'aws_lambda_powertools', 'aws_croniter', 'flowfn.cli', 'flowfn.synth', 'flowfn.local') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
