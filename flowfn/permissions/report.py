"""Used versus granted: per function, what its handler called beside what its policy allows."""

from __future__ import annotations

from dataclasses import dataclass

from flowfn.permissions.evaluate import matches
from flowfn.permissions.guard import Call, Guard

__all__ = ["FunctionUsage", "usage"]


@dataclass(frozen=True)
class FunctionUsage:
    """One function's calls during a run against its policy."""

    function: str
    #: (action, resource) pairs the policy grants.
    granted: tuple[tuple[str, str], ...]
    #: (action, resource) pairs the handler's calls needed and were allowed.
    used: tuple[tuple[str, str], ...]
    #: (actions, resource) of grants no call used (its log group and trigger's needs aside): a hint
    #: to narrow or remove them.
    unused: tuple[tuple[str, str], ...]
    #: (action, resource) pairs calls needed and the policy does not allow.
    denied: tuple[tuple[str, str], ...]
    #: ``service:Operation`` of calls flowfn does not check.
    unchecked: tuple[str, ...]

    def lines(self) -> list[str]:
        """The function's part of the report, for people."""
        out = [f"{self.function}:"]
        out += [f"  used     {a} {r}" for a, r in self.used]
        out += [f"  DENIED   {a} {r}" for a, r in self.denied]
        out += [f"  unused   {a} {r} (granted, never used: narrow or remove it)" for a, r in self.unused]
        out += [f"  unchecked {op} (flowfn does not check this service or operation)"
                for op in self.unchecked]
        return out


def _unique(items: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(dict.fromkeys(items))


def usage(guard: Guard) -> dict[str, FunctionUsage]:
    """Each function's usage, in the app's order."""
    from flowfn.synth.kinds import kind_of  # flowfn.synth is kept off run-local's start

    with guard._lock:
        calls = list(guard.calls)
    out: dict[str, FunctionUsage] = {}
    for handler in guard.app.handlers:
        mine: list[Call] = [c for c in calls if c.function == handler.name]
        granted: list[tuple[str, str]] = []
        unused: list[tuple[str, str]] = []
        need_actions = {a for actions, _ in kind_of(handler.trigger).needs(handler.trigger) for a in actions}
        used = [(c.action, c.resource) for c in mine if c.decision == "allowed"]
        for st in guard.document(handler)["Statement"]:
            granted += [(a, r) for a in st["Action"] for r in st["Resource"]]
            if any(a.startswith("logs:") or a in need_actions for a in st["Action"]):
                continue  # Lambda's own: its logs, and what its trigger needs
            for resource in st["Resource"]:  # one grant (write: PutObject and AbortMultipartUpload)
                if ":failed-events" not in resource and not any(
                        matches(a, action, fold=True) and matches(resource, r)
                        for a in st["Action"] for action, r in used):
                    unused.append((", ".join(st["Action"]), resource))
        out[handler.name] = FunctionUsage(
            handler.name, _unique(granted), _unique(used), _unique(unused),
            _unique([(c.action, c.resource) for c in mine if c.decision == "denied"]),
            tuple(dict.fromkeys(c.operation for c in mine if c.decision == "unchecked")))
    return out


def format_report(guard: Guard) -> str:
    """The whole report as text: one block per function that ran or holds grants."""
    lines = ["permissions: used versus granted"]
    for item in usage(guard).values():
        lines += item.lines()
    return "\n".join(lines)
