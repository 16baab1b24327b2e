from flowfn import Queue, on_sqs

jobs = Queue("jobs")


@on_sqs(jobs, batch_size=10)
def handle(record, context):
    if record.body == "fail":
        raise ValueError("bad record")
    return record.body
