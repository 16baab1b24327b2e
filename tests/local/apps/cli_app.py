"""The app the CLI tests run with `flowfn run-local` in a subprocess: every trigger kind."""

import threading
import time

import boto3

from flowfn import App, Bucket, Queue

app = App("cliapp")
inbox = Bucket("inbox")
steps = Queue("steps", visibility_timeout_s=1, max_receive_count=2)
done = Bucket("done")
archive = Bucket("archive")
slow_queue = Queue("slow", visibility_timeout_s=1, max_receive_count=1)
gate = threading.Barrier(4, timeout=10)


@app.on_s3(inbox, uses=[inbox.read(), steps.send()])
def receive(record):
    s3 = boto3.client("s3")
    text = s3.get_object(Bucket=inbox.name, Key=record.object_key)["Body"].read().decode()
    for line in text.split():
        boto3.client("sqs").send_message(QueueUrl=steps.url, MessageBody=line)


@app.on_sqs(steps, timeout_s=1, uses=[done.write()])
def process(record):
    if record.body == "fail":
        raise ValueError("refusing 'fail'")
    boto3.client("s3").put_object(Bucket=done.name, Key=f"{record.body}.txt", Body=record.body.encode())


@app.on_s3(done, uses=[done.read(), archive.write()])
def finish(record):
    body = boto3.client("s3").get_object(Bucket=done.name, Key=record.object_key)["Body"].read()
    boto3.client("s3").put_object(Bucket=archive.name, Key=record.object_key, Body=body.upper())


@app.on_sqs(slow_queue, timeout_s=1)
def slow(record):
    while True:
        time.sleep(0.01)


@app.on_schedule("cron(0 3 * * ? *)", uses=[archive.write()])
def nightly(event):
    boto3.client("s3").put_object(Bucket=archive.name, Key="nightly.txt", Body=event.raw["time"].encode())


@app.on_http("GET", "/together")
def together(request):
    gate.wait()
    return {"ok": True}


naps = Queue("naps")


@app.on_sqs(naps, timeout_s=10, reserved_concurrency=1, uses=[archive.write()])
def nap(record):
    boto3.client("s3").put_object(Bucket=archive.name, Key=f"napping-{record.body}.txt", Body=b"")
    time.sleep(2)
