"""An app too large for one CloudFormation stack: synth moves its functions into nested stacks."""

from __future__ import annotations

from typing import Any

from flowfn import App, Bucket

app = App("many")
reports = Bucket("reports")


def tick(event: Any) -> None:
    """Does nothing, on a schedule."""


for number in range(90):
    app.on_schedule(f"rate({number + 2} minutes)", name=f"tick{number}", uses=[reports.write(f"t{number}/")])(tick)
