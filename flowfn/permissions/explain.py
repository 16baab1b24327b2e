"""What would allow a denied request: the ``uses=[...]`` grant to add, in the app's own words."""

from __future__ import annotations

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local.provision import Bindings
from flowfn.permissions.requests import Request

__all__ = ["fix_for"]

#: The grant method that gives each action flowfn grants.
_GRANT_OF = {
    "s3:getobject": "read", "s3:putobject": "write", "s3:abortmultipartupload": "write",
    "s3:deleteobject": "delete", "s3:listbucket": "list", "sqs:sendmessage": "send",
    "sqs:receivemessage": "consume", "sqs:deletemessage": "consume",
    "sqs:changemessagevisibility": "consume", "sqs:getqueueattributes": "consume",
    **dict.fromkeys(("dynamodb:getitem", "dynamodb:batchgetitem", "dynamodb:query", "dynamodb:scan",
                     "dynamodb:describetable", "dynamodb:conditioncheckitem"), "read"),
    **dict.fromkeys(("dynamodb:putitem", "dynamodb:updateitem", "dynamodb:deleteitem",
                     "dynamodb:batchwriteitem"), "write"),
    **dict.fromkeys(("dynamodb:describestream", "dynamodb:getrecords", "dynamodb:getsharditerator"),
                    "read_stream"),
    "kinesis:putrecord": "put", "kinesis:putrecords": "put",
    **dict.fromkeys(("kinesis:describestream", "kinesis:describestreamsummary", "kinesis:getrecords",
                     "kinesis:getsharditerator", "kinesis:listshards"), "read"),
    "sns:publish": "publish", "events:putevents": "put_events",
}

#: The kinds named by ARN: (binding kind, class, name of the ARN's last part, what a handler reads).
_BY_ARN = {"kinesis": ("stream", "Stream", "stream", "name"), "sns": ("topic", "Topic", "topic", "arn"),
           "events": ("eventbus", "EventBus", "bus", "name")}


def _ref(handler: Handler, cls: str, logical: str) -> str:
    """How the handler's code names the resource: the variable its module holds it in, else the
    logical name when it is one, else a declaration equal to it (``Bucket('shop-receipts')``)."""
    from flowfn.resources.base import Resource

    namespace = getattr(handler.fn, "__globals__", None) or {}
    for var, value in namespace.items():
        if (isinstance(value, Resource) and type(value).__name__ == cls and value.logical_name == logical
                and not var.startswith("_")):
            return str(var)
    return logical if logical.isidentifier() else f"{cls}({logical!r})"  # as code_ref writes it


def _bucket_and_key(resource: str) -> tuple[str, str]:
    rest = resource.split(":::", 1)[-1]
    bucket, _, key = rest.partition("/")
    return bucket, key


def fix_for(app: App, bindings: Bindings, handler: Handler, request: Request) -> str:
    """One ``Fix:`` sentence naming the handler and the grant that would allow ``request``."""
    method = _GRANT_OF.get(request.action.lower())
    if request.action.lower() == "sqs:getqueueurl":
        queue = request.resource.rsplit(":", 1)[-1]
        logical = next((lg for lg, url in bindings.queue_urls.items()
                        if url.rstrip("/").rsplit("/", 1)[-1] == queue), None)
        where = (f"{_ref(handler, 'Queue', logical)}.url" if logical is not None
                 else f"Queue({queue!r}, ...).url")
        return (f"Fix: read the queue's URL from the declared object ({where}), which flowfn sets in "
                f"the environment of handler {handler.name!r} once it is in its uses=[...], instead of "
                "asking SQS for it.")
    if method is None:
        return (f"Fix: flowfn grants no {request.action}; call an operation a grant allows (see the "
                f"grants of Bucket, Queue, Table, Stream, Topic and EventBus) from handler {handler.name!r}.")
    service = request.action.split(":", 1)[0]
    if service in _BY_ARN:
        kind, cls, what, attribute = _BY_ARN[service]
        logical = next((lg for (k, lg), arn in bindings.arns.items()
                        if k == kind and arn == request.resource), None)
        if logical is None:
            name = request.resource.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            return (f"Fix: {what} {name!r} is not declared: declare it ({cls}({name!r}, existing={name!r}) "
                    f"for a {what} made elsewhere) and add it to uses=[...] of handler {handler.name!r}, "
                    f"reading its {attribute} from the declared object.")
        return f"Fix: add uses=[{_ref(handler, cls, logical)}.{method}()] to handler {handler.name!r}."
    if request.action.startswith("s3:"):
        bucket, key = _bucket_and_key(request.resource)
        logical = next((lg for lg, name in bindings.buckets.items() if name == bucket), None)
        prefix = request.keys.get("s3:prefix", "") if not key else (
            key.rsplit("/", 1)[0] + "/" if "/" in key else "")
        if logical is None:
            return (f"Fix: bucket {bucket!r} is not declared: declare it (Bucket({bucket!r}, "
                    f"existing={bucket!r}) for a bucket made elsewhere) and add it to uses=[...] of "
                    f"handler {handler.name!r}, reading its name from the declared object.")
        argument = f"prefix={prefix!r}".replace("'", '"') if prefix else ""
        grant = f"{_ref(handler, 'Bucket', logical)}.{method}({argument})"
        return f"Fix: add uses=[{grant}] to handler {handler.name!r}."
    if request.action.startswith("dynamodb:"):
        table = request.resource.split(":table/", 1)[-1].split("/", 1)[0]
        logical = next((lg for (kind, lg), name in bindings.names.items()
                        if kind == "table" and name == table), None)
        if logical is None:
            return (f"Fix: table {table!r} is not declared: declare it (Table({table!r}, existing={table!r}) "
                    f"for a table made elsewhere) and add it to uses=[...] of handler {handler.name!r}, "
                    "reading its name from the declared object.")
        return f"Fix: add uses=[{_ref(handler, 'Table', logical)}.{method}()] to handler {handler.name!r}."
    queue = request.resource.rsplit(":", 1)[-1]
    logical = next((lg for lg, url in bindings.queue_urls.items()
                    if url.rstrip("/").rsplit("/", 1)[-1] == queue), None)
    if logical is None:
        return (f"Fix: queue {queue!r} is not declared: declare it (Queue({queue!r}, ...)) and add it "
                f"to uses=[...] of handler {handler.name!r}, reading its URL from the declared object.")
    return f"Fix: add uses=[{_ref(handler, 'Queue', logical)}.{method}()] to handler {handler.name!r}."
