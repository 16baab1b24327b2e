"""The SQS handler of the warm-dispatch benchmark, on Powertools' batch utility.

What a user reaches for without flowfn: ``BatchProcessor`` and ``process_partial_response`` run
the record handler on each message and report the ones that raise in ``batchItemFailures``.
"""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record):
    if record.body == "fail":
        raise ValueError("bad record")
    return record.body


def handle(event, context):
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
