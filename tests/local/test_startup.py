"""What run-local leaves out of its start, and that each piece left out works when first used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowfn.testing import run_app

APP = """
import boto3

from flowfn import Bucket, Queue, on_http, on_sqs

files = Bucket("files")
private = Bucket("private")
work = Queue("work")


@on_http("GET", "/version")
def version(request):
    return "v1"


@on_http("GET", "/put", uses=[files.write()])
def put(request):
    boto3.client("s3").put_object(Bucket=files.name, Key="k", Body=b"x")
    return "stored"


@on_http("GET", "/peek")
def peek(request):
    boto3.client("s3").get_object(Bucket="private", Key="k")  # not granted: denied
    return "read"


@on_sqs(work)
def worked(record, context):
    return record.body
"""

#: Run in a fresh interpreter: ``flowfn run-local`` as the console script starts it; once it is
#: ready, what it imported and which service models it read, then its first requests.
STARTED = """
import json, sys, urllib.error, urllib.request
import botocore.loaders
from flowfn.local.devserver import DevServer

models = []
load = botocore.loaders.Loader.load_service_model
def recording(self, service, type_name, api_version=None):
    models.append(service)
    return load(self, service, type_name, api_version)
botocore.loaders.Loader.load_service_model = recording

def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()

def ready(server):  # in place of waiting for Ctrl-C: look, make the first requests, and stop
    report = {"ready": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY or m in HEAVY),
              "models": sorted(set(models))}
    url = server.local.http_url
    report["version"] = get(url + "/version")
    report["after_request"] = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY or m in HEAVY)
    report["put"] = get(url + "/put")
    report["peek"] = get(url + "/peek")
    print("REPORT " + json.dumps(report), flush=True)

HEAVY = {"pydantic", "typer._adapters", "flowfn.synth"}
DevServer.wait = ready
sys.argv = ["flowfn", "run-local", sys.argv[1], "--port", "0", "--no-reload", "--no-mirror",
            "--state-dir", sys.argv[2]]
from flowfn.cli import main
main()
"""


def test_run_local_starts_without_pydantic_synth_or_the_models_of_unused_services(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    done = subprocess.run([sys.executable, "-c", STARTED, str(app), str(tmp_path / "state")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("REPORT "))
    report = json.loads(line.removeprefix("REPORT "))
    # typer's parsing (pydantic) and synth (the guard's policies) stay out of the start, and a
    # request whose handler makes no AWS call does not bring synth in.
    assert report["ready"] == []
    assert report["after_request"] == []
    assert report["version"] == [200, "v1"]
    # Only the services the app uses: no DynamoDB, Kinesis, SNS or EventBridge client was made.
    assert set(report["models"]) == {"s3", "sqs"}
    # A handler's first AWS call is still held to its function's policy.
    assert report["put"] == [200, "stored"]
    status, body = report["peek"]
    assert status == 500 and "AccessDenied" in done.stdout + done.stderr + body


RELOADED = """
import boto3

from flowfn import App, Table, Topic

app = App("grown")
{declared}


@app.on_schedule("rate(1 day)", enabled=False{uses})
def job():
{body}
"""


def test_kinds_first_declared_by_a_reload_are_created_then(tmp_path: Path) -> None:
    module = tmp_path / "grown.py"
    module.write_text(RELOADED.format(declared="", uses="", body="    return None"))
    with run_app(str(module)) as h:
        assert h.fire("job").ok
        module.write_text(RELOADED.format(
            declared='orders = Table("orders", key="pk")\nnews = Topic("news")',
            uses=", uses=[orders.write(), news.publish()]",
            body='    boto3.client("dynamodb").put_item(TableName=orders.name, Item={"pk": {"S": "a"}})\n'
                 '    return boto3.client("sns").publish(TopicArn=news.arn, Message="hi")["MessageId"]'))
        h.local.reload()
        fired = h.fire("job")
        assert fired.ok, fired.error
        assert fired.result
        assert h.get_item("orders", {"pk": "a"}) == {"pk": "a"}


def test_a_call_after_a_reload_is_held_to_the_policy_its_invocation_started_under() -> None:
    # The guard reads a function's policy on its first AWS call; an invocation that began before a
    # reload keeps the policy of the code it runs.
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError, EndpointConnectionError

    from flowfn import App, Bucket
    from flowfn.local.emulator import AwsTarget
    from flowfn.local.provision import Bindings
    from flowfn.permissions import Guard, installed

    def version(grant: str) -> App:
        app = App("reloading")
        bucket = Bucket(grant)
        app.on_schedule("rate(1 day)", enabled=False, uses=[bucket.read()], name="job")(lambda: None)
        return app

    old, new = version("before"), version("after")
    bindings = Bindings(AwsTarget("http://127.0.0.1:9"))
    bindings.buckets.update({"before": "before", "after": "after"})
    guard = Guard(old, bindings)
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                      aws_access_key_id="x", aws_secret_access_key="x",
                      config=Config(retries={"max_attempts": 1}, connect_timeout=1))
    with installed(), guard.scope(old.handlers[0]):
        guard.rebind(new, bindings)
        with pytest.raises(ClientError, match="AccessDenied"):
            s3.get_object(Bucket="after", Key="k")
        with pytest.raises(EndpointConnectionError):  # allowed: it goes on to the (closed) endpoint
            s3.get_object(Bucket="before", Key="k")
    with installed(), guard.scope(new.handlers[0]), pytest.raises(ClientError, match="AccessDenied"):
        s3.get_object(Bucket="before", Key="k")
