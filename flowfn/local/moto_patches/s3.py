"""A fix to moto 5.2's S3: a write with a precondition is checked and applied as one step.

S3 applies a conditional write (``If-Match`` on the ETag read, ``If-None-Match: *``) atomically:
of two writers holding the same ETag, one succeeds and the other gets ``412 PreconditionFailed``.
moto checked the condition, then went on to build and store the object, with nothing held
between the two, while its server answers requests on many threads at once: two writers could
both pass the check and the second overwrote the first, the lost update conditional writes exist
to prevent. An app counting events into S3 objects under ``If-Match`` lost events locally that it
would not lose in AWS.

Here moto's handlers of the requests that write or remove an object (``PutObject``,
``CopyObject``, ``DeleteObject``, and the ``POST`` that completes a multipart upload) run one at a
time, so a check and its write see no other write in between. They are in-memory and short;
reads are not held up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flowfn.local.moto_patches._moto import one_at_a_time

__all__ = ["WRITES", "serialized"]

#: moto's S3Response methods that write or remove an object.
WRITES = ("put_object", "copy_object", "delete_object", "_key_response_post")

_writes = threading.RLock()


def serialized(name: str) -> Callable[..., Any]:
    """``S3Response.<name>``, run while no other object write runs."""
    return one_at_a_time(f"s3.S3Response.{name}", name, _writes)
