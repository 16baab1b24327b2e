from flowfn import Bucket, Queue, on_http, on_s3, on_schedule, on_sqs

files = Bucket("files")
work = Queue("work")

VERSION = "v0"


@on_http("GET", "/version")
def version(request):
    return VERSION


@on_s3(files)
def stored(record, context):
    return record.object_key


@on_sqs(work)
def worked(record, context):
    return record.body


@on_schedule("rate(5 minutes)")
def tick(event, context):
    return None
