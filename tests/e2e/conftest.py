"""Fixtures for the examples' tests: their folders, and their plain modules loaded for unit tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(example: str, module: str) -> ModuleType:
    name = f"_example_{example}_{module}"
    cached = sys.modules.get(name)
    if cached is not None:
        return cached
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / example / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    """The repository's examples/ folder."""
    return EXAMPLES


@pytest.fixture(scope="session")
def example_module() -> Callable[[str, str], ModuleType]:
    """``example_module("thumbnail", "imaging")`` imports examples/thumbnail/imaging.py for a test."""
    return _load
