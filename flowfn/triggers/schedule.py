"""EventBridge schedules: cron and rate expressions as EventBridge reads them.

EventBridge cron has six fields (minutes, hours, day-of-month, month, day-of-week, year), numbers
days of the week from 1=Sunday, and needs ``?`` in exactly one of the two day fields. It is not
Unix cron, so expressions are read by flowfn's own parser (:mod:`flowfn.triggers.cron`), which also
works out their fire times: an expression that validates fires at least once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from flowfn.errors import ConfigError
from flowfn.triggers.base import Invocation, Trigger
from flowfn.triggers.cron import DAYS, FIRST_YEAR, LAST_YEAR, MONTHS, Cron, ExpressionError, compile_cron

_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")

#: Files of the zone database that are not IANA zones (``localtime`` is the machine's own zone).
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_RATE = re.compile(r"rate\((?P<value>[0-9]+) (?P<unit>[a-z]+)\)")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86_400}
#: The longest rate that fires within the years EventBridge schedules span (1970-2199).
MAX_RATE_SECONDS = int((datetime(LAST_YEAR + 1, 1, 1) - datetime(FIRST_YEAR, 1, 1)).total_seconds())


def parse_cron(body: str) -> tuple[str, ...]:
    """Check the six fields inside ``cron(...)``; return them, or raise ExpressionError.

    Besides the syntax, the expression must fire at least once in 1970-2199 (``cron(0 0 31 2 ? *)``
    never does).
    """
    return _compile(body)[0]


def _compile(body: str) -> tuple[tuple[str, ...], Cron]:
    odd = next((c for c in body if not " " <= c <= "~"), None)
    if odd is not None:
        raise ExpressionError(f"{odd!r} is not a character cron fields hold (digits, names, "
                              "spaces and , - * ? / L W #)")
    fields = tuple(body.split())
    if len(fields) != 6:
        hint = " (EventBridge adds a year field to Unix cron's five)" if len(fields) == 5 else ""
        raise ExpressionError(f"cron needs 6 fields, got {len(fields)}{hint}")
    return fields, compile_cron(fields)


def parse_rate(expression: str) -> int:
    """Seconds between fires of ``rate(N unit)``, or raise ExpressionError."""
    match = _RATE.fullmatch(expression)
    if not match:
        raise ExpressionError("write rate(N unit), for example rate(5 minutes) or rate(1 hour)")
    value, unit = int(match["value"]), match["unit"]
    singular = unit.removesuffix("s")
    if singular not in _RATE_UNITS:
        raise ExpressionError(f"{unit!r} is not a rate unit (minute(s), hour(s), day(s))")
    if value < 1:
        raise ExpressionError("the rate value must be a positive whole number")
    if value == 1 and unit != singular:
        raise ExpressionError(f"EventBridge wants the singular for 1: rate(1 {singular})")
    if value > 1 and unit == singular:
        raise ExpressionError(f"EventBridge wants the plural above 1: rate({value} {singular}s)")
    seconds = value * _RATE_UNITS[singular]
    if seconds > MAX_RATE_SECONDS:
        most = MAX_RATE_SECONDS // _RATE_UNITS[singular]
        raise ExpressionError(f"{value} {unit} is longer than the {LAST_YEAR + 1 - FIRST_YEAR} years "
                              f"EventBridge schedules span ({FIRST_YEAR}-{LAST_YEAR}): it would never "
                              f"fire; the most is {most} {singular}s")
    return seconds


class ScheduleTrigger(Trigger):
    """Run the handler on an EventBridge schedule: ``cron(...)`` or ``rate(...)``.

    Times are UTC unless ``timezone`` names an IANA zone (then an EventBridge Scheduler schedule
    is used, which follows daylight saving).
    """

    kind: ClassVar[str] = "schedule"
    invocation: ClassVar[Invocation] = "async"
    min_args: ClassVar[int] = 0
    expression: str
    timezone: str | None = None
    enabled: bool = True

    @property
    def is_rate(self) -> bool:
        return self.expression.startswith("rate(")

    @property
    def rate_seconds(self) -> int:
        return parse_rate(self.expression)

    @property
    def cron_fields(self) -> tuple[str, ...]:
        return parse_cron(self.expression[len("cron("):-1])

    def describe(self) -> str:
        return f"schedule {self.expression}" + (f" {self.timezone}" if self.timezone else "")

    def when(self, now: datetime, subject: str) -> list[str]:
        self.first_fire(now, subject)  # ConfigError when it never fires
        return [self.english(), *(t.strftime("%Y-%m-%d %H:%M UTC") for t in self.next_fires(now, 3))]

    def english(self) -> str:
        """The schedule in plain English, for example 'at 03:00 every day (UTC)'."""
        zone = self.timezone or "UTC"
        if self.is_rate:
            value, unit = self.expression[5:-1].split()
            text = f"every {unit}" if int(value) == 1 else f"every {int(value)} {unit}"
        else:
            text = describe_cron(self.cron_fields)
        return f"{text} ({zone})" + ("" if self.enabled else ", disabled")

    def next_fires(self, after: datetime, count: int = 3) -> list[datetime]:
        """The next ``count`` fire times strictly after ``after``, in UTC.

        A rate schedule counts from ``after`` (EventBridge counts from when the rule is created).
        A cron schedule whose years run out gives fewer, or none once its last fire is past. In a
        time zone, as EventBridge Scheduler does: a local time that daylight saving skips does not
        fire, and one it repeats fires once, at its first pass.
        """
        after = after.astimezone(UTC)
        if self.is_rate:
            step = timedelta(seconds=self.rate_seconds)
            return [after + step * (i + 1) for i in range(count)]
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.timezone) if self.timezone else UTC
        cron = _compile(self.expression[len("cron("):-1])[1]
        fires: list[datetime] = []
        local: datetime | None = after.astimezone(zone).replace(tzinfo=None)
        while len(fires) < count and local is not None:
            local = cron.next_after(local)
            if local is None:
                break
            fire = local.replace(tzinfo=zone).astimezone(UTC)  # fold 0: a repeated time's first pass
            if fire > after and fire.astimezone(zone).replace(tzinfo=None) == local:  # else skipped
                fires.append(fire)
        return fires

    def first_fire(self, after: datetime, subject: str) -> datetime:
        """The first fire strictly after ``after``; ConfigError naming ``subject`` when there is none
        (a cron schedule whose years are all past)."""
        fires = self.next_fires(after, 1)
        if not fires:
            raise ConfigError(
                subject, "expression",
                f"{self.expression!r} never fires after {after.astimezone(UTC):%Y-%m-%d %H:%M} UTC: "
                "its last fire time is past",
                "give it a year field that reaches the future, such as * or a range ending later",
            )
        return fires[0]


def _list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _name_of(token: str, names: tuple[str, ...], labels: tuple[str, ...]) -> str:
    index = names.index(token.upper()) if token.upper() in names else int(token) - 1
    return labels[index]


def _describe_names(text: str, names: tuple[str, ...], labels: tuple[str, ...]) -> str:
    parts = []
    for item in text.split(","):
        if "-" in item and "/" not in item:
            a, b = item.split("-")
            parts.append(f"{_name_of(a, names, labels)} through {_name_of(b, names, labels)}")
        elif item.isdigit() or item.upper() in names:
            parts.append(_name_of(item, names, labels))
        else:
            parts.append(item)
    return _list(parts)


def describe_cron(fields: tuple[str, ...]) -> str:
    minute, hour, dom, month, dow, year = fields
    if minute.isdigit() and hour.isdigit():
        when = f"at {int(hour):02d}:{int(minute):02d}"
    elif minute.startswith(("*/", "0/")) and hour == "*":
        when = f"every {minute.split('/')[1]} minutes"
    elif minute == "*" and hour == "*":
        when = "every minute"
    elif minute.isdigit() and hour == "*":
        when = f"at minute {int(minute)} of every hour"
    else:
        when = f"at minute {minute} of hour {hour}"
    if dow not in ("?", "*"):
        if "#" in dow:
            day, nth = dow.split("#")
            ordinal = ("first", "second", "third", "fourth", "fifth")[int(nth) - 1]
            days = f"on the {ordinal} {_name_of(day, DAYS, _DAY_NAMES)} of the month"
        elif dow.upper() == "L":
            days = "on Saturday"
        elif dow.upper().endswith("L"):
            days = f"on the last {_name_of(dow[:-1], DAYS, _DAY_NAMES)} of the month"
        else:
            days = f"on {_describe_names(dow, DAYS, _DAY_NAMES)}"
    elif dom not in ("?", "*"):
        if dom.upper() == "L":
            days = "on the last day of the month"
        elif dom.upper() == "LW":
            days = "on the last weekday of the month"
        elif dom.upper().endswith("W"):
            days = f"on the weekday nearest day {dom[:-1]} of the month"
        else:
            days = f"on day {dom} of the month"
    else:
        days = "every day"
    text = f"{when} {days}"
    if month != "*":
        text += f" in {_describe_names(month, MONTHS, _MONTH_NAMES)}"
    if year != "*":
        text += f" in {year}"
    return text


def make_schedule_trigger(
    expression: str, timezone: str | None, enabled: bool, subject: str
) -> ScheduleTrigger:
    if not isinstance(expression, str):
        raise ConfigError(subject, "expression", f"{expression!r} is not a string",
                          "pass 'cron(...)' or 'rate(...)'")
    expression = expression.strip()
    try:
        if expression.startswith("rate("):
            parse_rate(expression)
        elif expression.startswith("cron(") and expression.endswith(")"):
            parse_cron(expression[len("cron("):-1])
        else:
            raise ExpressionError("an EventBridge schedule is 'cron(...)' or 'rate(...)'")
    except ExpressionError as exc:
        raise ConfigError(
            subject, "expression", f"{expression!r} is not a valid EventBridge schedule: {exc}",
            "see EventBridge's syntax: cron(minutes hours day-of-month month day-of-week year), "
            "for example cron(0 3 * * ? *) for 03:00 UTC daily, or rate(5 minutes)",
        ) from None
    if timezone is not None and not isinstance(timezone, str):
        raise ConfigError(subject, "timezone", f"{timezone!r} is not a string",
                          "pass an IANA zone name such as 'Europe/Paris', or leave it out for UTC")
    if not isinstance(enabled, bool):
        raise ConfigError(subject, "enabled", f"{enabled!r} is not True or False",
                          "pass enabled=True or enabled=False")
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only here: it costs a cold start ~2 ms

        try:
            if timezone in _NOT_ZONES:
                raise ValueError(timezone)
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(subject, "timezone", f"{timezone!r} is not an IANA time zone",
                              "use a name such as 'Europe/Paris' or 'America/New_York'") from None
    return ScheduleTrigger(expression=expression, timezone=timezone, enabled=enabled)


# -- AWS-exact events: what EventBridge (or EventBridge Scheduler) sends Lambda ------------------


def schedule_arn(trigger: ScheduleTrigger, rule_name: str, *, region: str, account: str) -> str:
    """The ARN of the rule (UTC schedules) or Scheduler schedule (zoned ones) that fires."""
    if trigger.timezone:
        return f"arn:aws:scheduler:{region}:{account}:schedule/default/{rule_name}"
    return f"arn:aws:events:{region}:{account}:rule/{rule_name}"


def scheduled_event(
    *, rule_arn: str, time: datetime, event_id: str, region: str, account: str,
) -> dict[str, Any]:
    """The event a schedule delivers at ``time``, as EventBridge writes it."""
    source = "aws.scheduler" if ":scheduler:" in rule_arn else "aws.events"
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": source,
        "account": account,
        "time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
