"""Templates to bytes: sorted keys, fixed indentation, so equal templates give equal bytes."""

from __future__ import annotations

import json
from typing import Any, Literal


def render(template: dict[str, Any], fmt: Literal["json", "yaml"] = "json") -> bytes:
    """``template`` as JSON (2-space indent) or YAML (long-form intrinsics), keys sorted."""
    if fmt == "yaml":
        import yaml

        class Dumper(yaml.SafeDumper):
            def ignore_aliases(self, data: Any) -> bool:  # CloudFormation rejects YAML aliases
                return True

        text = yaml.dump(template, Dumper=Dumper, sort_keys=True, default_flow_style=False,
                         allow_unicode=True, width=120)
        return str(text).encode()
    return (json.dumps(template, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
