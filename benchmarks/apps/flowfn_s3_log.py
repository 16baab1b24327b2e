from flowfn import Bucket, on_s3
from flowfn.runtime import logger

uploads = Bucket("uploads")


@on_s3(uploads)
def handle(record, context):
    logger.info("resized", key=record.object_key)
    return record.object_key
