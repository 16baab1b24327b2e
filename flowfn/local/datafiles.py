"""botocore's model folders, listed once per process for every loader flowfn and moto use.

Before reading a service's model, a botocore loader lists every service that has a model of that
type (``service-2``, ``endpoint-rule-set-1``...): it goes over every service folder of every data
path and tests each API version for the file, once per type and per loader. flowfn's loader lists
two types and moto's a third time, with moto's package first: about 35 ms of run-local's start,
mostly the same folders. :func:`list_once` gives a loader the same answer read from one pass per
data path, shared by all of them: a service is listed for a type when one of its API version
folders holds that type's file (``<type>.json`` or ``<type>.json.gz``), as botocore tests.
"""

from __future__ import annotations

import os
import threading
import types
from typing import Any

import botocore.loaders

__all__ = ["list_once"]

#: The extensions botocore reads models with, in its order.
_EXTENSIONS = tuple(getattr(botocore.loaders, "_JSON_OPEN_METHODS", {".json": None, ".json.gz": None}))
_lock = threading.Lock()
_paths: dict[str, dict[str, frozenset[str]]] = {}  # data path -> model type -> services
_lists: dict[tuple[tuple[str, ...], str], list[str]] = {}  # (search paths, model type) -> services


def _types_in(path: str) -> dict[str, frozenset[str]]:
    """Every model type in the data path ``path`` -> the services with a model of that type."""
    found: dict[str, set[str]] = {}
    for service in _folders(path):
        for version in _folders(service.path):
            with os.scandir(version.path) as entries:
                for entry in entries:
                    for extension in _EXTENSIONS:
                        if entry.name.endswith(extension) and entry.is_file():
                            found.setdefault(entry.name[:-len(extension)], set()).add(service.name)
    return {kind: frozenset(services) for kind, services in found.items()}


def _folders(path: str) -> list[os.DirEntry[str]]:
    with os.scandir(path) as entries:
        return [entry for entry in entries if entry.is_dir()]


def _listed(path: str) -> dict[str, frozenset[str]]:
    with _lock:
        listed = _paths.get(path)
        if listed is None:
            listed = _paths[path] = _types_in(path)
        return listed


def _list_available_services(self: Any, type_name: str) -> list[str]:
    """``Loader.list_available_services``: every service with a model of ``type_name``, sorted."""
    key = (tuple(self.search_paths), type_name)
    found = _lists.get(key)
    if found is None:
        services: set[str] = set()
        for path in self.search_paths:
            if os.path.isdir(path):
                services.update(_listed(path).get(type_name, ()))
        found = _lists[key] = sorted(services)
    return found


def list_once(loader: Any) -> Any:
    """Make ``loader`` (a botocore ``Loader``) list services from the shared listing; returns it."""
    loader.list_available_services = types.MethodType(_list_available_services, loader)
    return loader
