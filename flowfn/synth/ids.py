"""CloudFormation logical ids derived from handler and resource names, stable and collision-free."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowfn.resources import Resource

#: The graph node id of a declared resource.
ResourceId = Callable[["Resource"], str]


def pascal(name: str) -> str:
    """``photo-uploads`` -> ``PhotoUploads``; ids hold only letters and digits."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words) or "X"
    return text if text[0].isalpha() else "N" + text


def short_hash(text: str, size: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def unique_ids(names: Iterable[str]) -> dict[str, str]:
    """Map each name to a logical-id stem; names whose stems clash get a hash of the name appended."""
    names = list(dict.fromkeys(names))
    stems = {n: pascal(n) for n in names}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem] = counts.get(stem, 0) + 1
    return {n: s if counts[s] == 1 else s + short_hash(n).upper() for n, s in stems.items()}


def label(text: str) -> str:
    """A Mermaid label, quoted."""
    return '"' + text.replace('"', "#quot;") + '"'
