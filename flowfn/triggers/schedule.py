"""EventBridge schedules: cron and rate expressions as EventBridge reads them.

EventBridge cron has six fields (minutes, hours, day-of-month, month, day-of-week, year), numbers
days of the week from 1=Sunday, and needs ``?`` in exactly one of the two day fields. It is not
Unix cron, so expressions are checked here rather than by a Unix cron parser.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from flowfn._frozen import Frozen
from flowfn.errors import ConfigError
from flowfn.triggers.base import Trigger

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")


class _Field(Frozen):
    label: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    special: str = ""  # which of ? L W # the field admits


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31, special="?LW"),
    _Field("month", 1, 12, names=_MONTHS),
    _Field("day-of-week", 1, 7, names=_DAYS, special="?L#"),
    _Field("year", 1970, 2199),
)

_RATE = re.compile(r"rate\((?P<value>\d+) (?P<unit>[a-z]+)\)")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86_400}


class ExpressionError(ValueError):
    """A schedule expression EventBridge would refuse; the message says why."""


def _value(token: str, f: _Field) -> int:
    upper = token.upper()
    if upper in f.names:
        return f.names.index(upper) + 1
    if not token.isdigit():
        raise ExpressionError(f"{f.label} field: {token!r} is not a number"
                              + (f" or one of {', '.join(f.names)}" if f.names else ""))
    number = int(token)
    if not f.low <= number <= f.high:
        raise ExpressionError(f"{f.label} field: {number} is outside {f.low}-{f.high}")
    return number


def _check_field(text: str, f: _Field) -> None:
    if text == "?":
        if "?" not in f.special:
            raise ExpressionError(f"{f.label} field: '?' is allowed only in the day fields")
        return
    for item in text.split(","):
        if not item:
            raise ExpressionError(f"{f.label} field: empty item in {text!r}")
        if "L" in f.special and item.upper() == "L":
            continue
        if f.label == "day-of-month" and item.upper() in ("LW",):
            continue
        if f.label == "day-of-month" and item.upper().endswith("W"):
            _value(item[:-1], f)
            continue
        if f.label == "day-of-week" and item.upper().endswith("L"):
            _value(item[:-1], f)
            continue
        if "#" in item:
            if "#" not in f.special:
                raise ExpressionError(f"{f.label} field: '#' is allowed only in day-of-week")
            day, _, nth = item.partition("#")
            _value(day, f)
            if not (nth.isdigit() and 1 <= int(nth) <= 5):
                raise ExpressionError(f"day-of-week field: {item!r} needs a week of 1-5 after '#'")
            continue
        base, slash, step = item.partition("/")
        if slash and not (step.isdigit() and int(step) >= 1):
            raise ExpressionError(f"{f.label} field: {item!r} needs a positive step after '/'")
        if base == "*":
            continue
        start, dash, end = base.partition("-")
        _value(start, f)
        if dash:
            _value(end, f)


def parse_cron(body: str) -> tuple[str, ...]:
    """Check the six fields inside ``cron(...)``; return them, or raise ExpressionError."""
    fields = tuple(body.split())
    if len(fields) != 6:
        hint = " (EventBridge adds a year field to Unix cron's five)" if len(fields) == 5 else ""
        raise ExpressionError(f"cron needs 6 fields, got {len(fields)}{hint}")
    for text, f in zip(fields, _FIELDS, strict=True):
        _check_field(text, f)
    dom, dow = fields[2], fields[4]
    if (dom == "?") == (dow == "?"):
        raise ExpressionError(
            "exactly one of day-of-month and day-of-week must be '?' "
            f"(got {dom!r} and {dow!r})"
        )
    return fields


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
    return value * _RATE_UNITS[singular]


class ScheduleTrigger(Trigger):
    """Run the handler on an EventBridge schedule: ``cron(...)`` or ``rate(...)``.

    Times are UTC unless ``timezone`` names an IANA zone (then an EventBridge Scheduler schedule
    is used, which follows daylight saving).
    """

    kind: ClassVar[str] = "schedule"
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

    def english(self) -> str:
        """The schedule in plain English, for example 'at 03:00 every day (UTC)'."""
        zone = self.timezone or "UTC"
        if self.is_rate:
            value, unit = self.expression[5:-1].split()
            text = f"every {unit}" if value == "1" else f"every {value} {unit}"
        else:
            text = describe_cron(self.cron_fields)
        return f"{text} ({zone})" + ("" if self.enabled else ", disabled")

    def next_fires(self, after: datetime, count: int = 3) -> list[datetime]:
        """The next ``count`` fire times strictly after ``after``, in UTC.

        A rate schedule counts from ``after`` (EventBridge counts from when the rule is created).
        """
        after = after.astimezone(UTC)
        if self.is_rate:
            step = timedelta(seconds=self.rate_seconds)
            return [after + step * (i + 1) for i in range(count)]
        from zoneinfo import ZoneInfo

        from aws_croniter import AwsCroniter  # imported here: costly, and never needed at run time

        zone = ZoneInfo(self.timezone) if self.timezone else UTC
        local = after.astimezone(zone).replace(tzinfo=None) + timedelta(seconds=1)
        local = local.replace(microsecond=0)
        itr = AwsCroniter(" ".join(self.cron_fields))
        naive = itr.get_next(local.replace(tzinfo=UTC), n=count)
        return [t.replace(tzinfo=zone).astimezone(UTC) for t in naive]


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
            days = f"on the {ordinal} {_name_of(day, _DAYS, _DAY_NAMES)} of the month"
        elif dow.upper().endswith("L") and len(dow) > 1:
            days = f"on the last {_name_of(dow[:-1], _DAYS, _DAY_NAMES)} of the month"
        else:
            days = f"on {_describe_names(dow, _DAYS, _DAY_NAMES)}"
    elif dom not in ("?", "*"):
        if dom.upper() == "L":
            days = "on the last day of the month"
        elif dom.upper().endswith("W"):
            days = f"on the weekday nearest day {dom[:-1]} of the month"
        else:
            days = f"on day {dom} of the month"
    else:
        days = "every day"
    text = f"{when} {days}"
    if month != "*":
        text += f" in {_describe_names(month, _MONTHS, _MONTH_NAMES)}"
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
    if timezone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only here: it costs a cold start ~2 ms

        try:
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
