"""Shared helpers for runtime tests: reference events and a minimal Lambda context."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).resolve().parents[3] / "shared" / "aws-events"


def _reference_event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


@pytest.fixture
def reference() -> Callable[[str], dict[str, Any]]:
    """Loads a reference AWS event from ../shared/aws-events by file name."""
    return _reference_event


@dataclass
class FakeContext:
    """The attributes Lambda's context object has."""

    aws_request_id: str = "req-1"
    function_name: str = "fn"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    memory_limit_in_mb: int = 256
    log_group_name: str = "/aws/lambda/fn"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()
