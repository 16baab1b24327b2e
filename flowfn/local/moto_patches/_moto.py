"""What the fixes share: moto's SQS models module, imported on first use, and moto's own
functions while the fixes replace them."""

from __future__ import annotations

import importlib
from typing import Any

#: moto's functions the installed fixes replaced, by fix name.
ORIGINALS: dict[str, Any] = {}

_modules: dict[str, Any] = {}


def sqs_models() -> Any:
    """moto's SQS models module (imported on first use: moto is heavy)."""
    found = _modules.get("sqs")
    if found is None:
        found = _modules["sqs"] = importlib.import_module("moto.sqs.models")
    return found
