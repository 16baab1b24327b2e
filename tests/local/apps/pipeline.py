"""A three-step chain: a text file's lines become tasks, tasks become outputs, outputs a report."""

import json
import os

import boto3

from flowfn import App, Bucket, Queue

app = App("pipeline")
incoming = Bucket("incoming")
tasks = Queue("tasks", max_receive_count=2)
outputs = Bucket("outputs")
reports = Bucket("reports")


@app.on_s3(incoming, prefix="raw/", suffix=".txt", uses=[incoming.read(), tasks.send()])
def split(record, context):
    s3 = boto3.client("s3")
    text = s3.get_object(Bucket=record.bucket_name, Key=record.object_key)["Body"].read().decode()
    sqs = boto3.client("sqs")
    for line in filter(None, text.splitlines()):
        sqs.send_message(QueueUrl=tasks.url, MessageBody=json.dumps({"line": line}),
                         MessageAttributes={"origin": {"DataType": "String",
                                                       "StringValue": record.object_key}})
    return {"env": sorted(k for k in os.environ if k.startswith("FLOWFN_"))}


@app.on_sqs(tasks, batch_size=5, uses=[outputs.write()])
def work(record, context):
    line = record.json_body["line"]
    if line.startswith("fail"):
        raise ValueError(f"cannot process {line!r}")
    boto3.client("s3").put_object(Bucket=outputs.name, Key=f"done/{line}.txt", Body=line.upper().encode())
    return os.environ["FLOWFN_FUNCTION"]


@app.on_s3(outputs, prefix="done/", uses=[outputs.read(), reports.write()])
def collect(record):
    body = boto3.client("s3").get_object(Bucket=outputs.name, Key=record.object_key)["Body"].read()
    boto3.client("s3").put_object(Bucket=reports.name, Key=record.object_key.removeprefix("done/"),
                                  Body=body + b"!")
