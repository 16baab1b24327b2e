from flowfn import Bucket, on_s3

uploads = Bucket("uploads")


@on_s3(uploads)
def handle(record, context):
    return record.object_key
