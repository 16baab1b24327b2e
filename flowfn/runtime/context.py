"""The Lambda context object handlers receive as their second argument."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["LambdaContext"]


@runtime_checkable
class LambdaContext(Protocol):
    """What Lambda's context object offers (the same under run-local and flowfn.testing).

    Annotate a handler's ``context`` parameter with it for type checking.
    """

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out."""
        ...
