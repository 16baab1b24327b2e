"""The typed table from trigger kind to its wiring. Adding a kind adds one line here."""

from __future__ import annotations

from collections.abc import Callable

from flowfn.synth.context import Wiring
from flowfn.synth.http import wire_http
from flowfn.synth.options import SynthOptions
from flowfn.synth.s3 import wire_s3
from flowfn.synth.schedule import wire_schedule
from flowfn.synth.sqs import wire_sqs
from flowfn.triggers.base import Trigger
from flowfn.triggers.http import HttpTrigger
from flowfn.triggers.s3 import S3Trigger
from flowfn.triggers.schedule import ScheduleTrigger
from flowfn.triggers.sqs import SqsTrigger

WireFn = Callable[[Wiring, SynthOptions], None]

WIRING: dict[type[Trigger], WireFn] = {
    S3Trigger: wire_s3,
    SqsTrigger: wire_sqs,
    ScheduleTrigger: wire_schedule,
    HttpTrigger: wire_http,
}


def wiring_for(trigger: Trigger) -> WireFn:
    """The wiring of ``trigger``'s kind; KeyError names the kinds synth knows."""
    try:
        return WIRING[type(trigger)]
    except KeyError:
        known = ", ".join(sorted(t.kind for t in WIRING))
        raise KeyError(f"synth has no wiring for {type(trigger).__name__} (knows {known})") from None
