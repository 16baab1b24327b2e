"""Handlers whose AWS calls are inside, outside or beside their grants."""

import threading

import boto3

from flowfn import App, Bucket, Queue

app = App("grants")
partner = Bucket("partner")
reports = Bucket("reports")
archive = Bucket("archive")
source = Bucket("source")
jobs = Queue("jobs")
other = Queue("other")


@app.on_schedule("rate(1 day)", enabled=False)
def undeclared_write():
    boto3.client("s3").put_object(Bucket="somebody-elses", Key="x.txt", Body=b"x")


@app.on_schedule("rate(1 day)", enabled=False, uses=[partner.write()])
def declared_write():
    boto3.client("s3").put_object(Bucket="partner", Key="x.txt", Body=b"x")  # by its name


@app.on_schedule("rate(1 day)", enabled=False, uses=[reports.write(prefix="out/")])
def prefixed_write():
    s3 = boto3.resource("s3")
    s3.Object(reports.name, "out/inside.txt").put(Body=b"in")
    s3.Object(reports.name, "elsewhere/outside.txt").put(Body=b"out")


@app.on_schedule("rate(1 day)", enabled=False, uses=[archive.read()])
def read_only_write():
    boto3.session.Session().client("s3").put_object(Bucket=archive.name, Key="x.txt", Body=b"x")


@app.on_schedule("rate(1 day)", enabled=False, uses=[jobs.send()])
def batch_send():
    sqs = boto3.client("sqs")
    sqs.send_message_batch(QueueUrl=jobs.url, Entries=[{"Id": "1", "MessageBody": "a"}])
    other_url = jobs.url.rsplit("/", 1)[0] + "/other"
    sqs.send_message_batch(QueueUrl=other_url, Entries=[{"Id": "1", "MessageBody": "b"}])


@app.on_schedule("rate(1 day)", enabled=False, uses=[source.read(), archive.write()])
def copy_both():
    boto3.client("s3").copy_object(Bucket=archive.name, Key="copy.txt",
                                   CopySource={"Bucket": source.name, "Key": "original.txt"})


@app.on_schedule("rate(1 day)", enabled=False, uses=[archive.write()])
def copy_write_only():
    boto3.client("s3").copy_object(Bucket=archive.name, Key="copy.txt",
                                   CopySource={"Bucket": "source", "Key": "original.txt"})


@app.on_schedule("rate(1 day)", enabled=False)
def transact():
    boto3.client("dynamodb").transact_write_items(TransactItems=[
        {"Put": {"TableName": "orders", "Item": {"id": {"S": "1"}}}},
    ])


@app.on_schedule("rate(1 day)", enabled=False)
def from_thread():
    failures: list[BaseException] = []

    def work() -> None:
        try:
            boto3.client("s3").put_object(Bucket="somebody-elses", Key="t.txt", Body=b"t")
        except Exception as exc:  # reported back to the handler
            failures.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


@app.on_schedule("rate(1 day)", enabled=False, uses=[archive.list(), reports.read(prefix="in/")])
def lists_archive():
    boto3.client("s3").list_objects_v2(Bucket=archive.name)


@app.on_schedule("rate(1 day)", enabled=False)
def asks_sts():
    return boto3.client("sts").get_caller_identity()["Account"]


@app.on_schedule("rate(1 day)", enabled=False, uses=[reports.write(prefix="out/")])
def transfers():
    import io

    from boto3.s3.transfer import TransferConfig

    s3 = boto3.client("s3")
    small = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    big = b"x" * (6 * 1024 * 1024)  # two parts, uploaded from s3transfer's own threads
    s3.upload_fileobj(io.BytesIO(big), reports.name, "out/big.bin", Config=small)
    s3.upload_fileobj(io.BytesIO(big), reports.name, "elsewhere/big.bin", Config=small)
