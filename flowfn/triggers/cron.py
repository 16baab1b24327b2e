"""EventBridge cron: the six fields read into sets of values, and the times they fire (pure).

The rules are EventBridge's: minutes 0-59, hours 0-23, day-of-month 1-31 (``, - * ? / L W``),
month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT with 1=Sunday (``, - * ? L #``), year
1970-2199. ``L``, ``LW``, ``nW``, ``nL`` and ``n#k`` each stand alone in their field. Fire times are
worked out here, exactly and without a clock, so that an expression that validates is known to
fire at least once, and run-local and ``flowfn list`` never meet one that cannot.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

__all__ = ["FIRST_YEAR", "LAST_YEAR", "Cron", "ExpressionError", "compile_cron"]

FIRST_YEAR, LAST_YEAR = 1970, 2199
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_DIGITS = re.compile(r"[0-9]+")


class ExpressionError(ValueError):
    """A schedule expression EventBridge would refuse; the message says why."""


class _Field:
    __slots__ = ("digits", "high", "label", "low", "max_step", "names", "specials", "wraps")

    def __init__(self, label: str, low: int, high: int, max_step: int, names: tuple[str, ...] = (),
                 specials: str = "", digits: int = 2, wraps: bool = True) -> None:
        self.label, self.low, self.high, self.max_step = label, low, high, max_step
        self.names, self.specials, self.digits, self.wraps = names, specials, digits, wraps


MINUTES = _Field("minutes", 0, 59, 59)
HOURS = _Field("hours", 0, 23, 23)
DAY_OF_MONTH = _Field("day-of-month", 1, 31, 31, specials="?LW")
MONTH = _Field("month", 1, 12, 12, names=MONTHS)
DAY_OF_WEEK = _Field("day-of-week", 1, 7, 0, names=DAYS, specials="?L#")  # no '/' in day-of-week
YEAR = _Field("year", FIRST_YEAR, LAST_YEAR, LAST_YEAR - FIRST_YEAR, digits=4, wraps=False)


def _value(token: str, f: _Field) -> int:
    upper = token.upper()
    if upper in f.names:
        return f.names.index(upper) + 1
    if not (_DIGITS.fullmatch(token) and len(token) <= f.digits):
        special = _special(upper)
        if special is not None and special in f.specials:
            raise ExpressionError(f"{f.label} field: {special!r} terms stand alone in their field, "
                                  f"never in a list, range or step (got {token!r})")
        if special is not None:
            where = {"?": "the day fields", "L": "the day fields", "W": "day-of-month",
                     "#": "day-of-week"}[special]
            raise ExpressionError(f"{f.label} field: {special!r} is allowed only in {where}")
        kind = "a 4-digit year" if f is YEAR else "a number"
        names = f" or one of {', '.join(f.names)}" if f.names else ""
        raise ExpressionError(f"{f.label} field: {token!r} is not {kind}{names}")
    number = int(token)
    if not f.low <= number <= f.high:
        raise ExpressionError(f"{f.label} field: {number} is outside {f.low}-{f.high}")
    return number


def _special(upper: str) -> str | None:
    """Which of ? L W # a token that is no plain value is written with, if any."""
    if upper in ("?", "L", "LW"):
        return upper[0]
    if "#" in upper:
        return "#"
    if upper.endswith("W") and upper[:-1].isdigit():
        return "W"
    if upper.endswith("L") and (upper[:-1].isdigit() or upper[:-1] in DAYS):
        return "L"
    return None


def _item(item: str, f: _Field) -> list[int]:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        if not f.max_step:
            raise ExpressionError(f"{f.label} field: '/' is not allowed here (in {item!r})")
        if not (_DIGITS.fullmatch(step_text) and 1 <= int(step_text) <= f.max_step):
            raise ExpressionError(f"{f.label} field: {item!r} needs a step of 1-{f.max_step} after '/'")
        step = int(step_text)
    if base == "*":
        start, end = f.low, f.high
    else:
        first, dash, last = base.partition("-")
        start = _value(first, f)
        end = _value(last, f) if dash else (f.high if slash else start)
    if end < start and not f.wraps:
        raise ExpressionError(f"{f.label} field: the range {base!r} runs backwards")
    span = f.high - f.low + 1
    count = (end - start) % span + 1
    return [f.low + (start - f.low + offset) % span for offset in range(0, count, step)]


def _values(text: str, f: _Field) -> tuple[int, ...]:
    found: set[int] = set()
    for item in text.split(","):
        if not item:
            raise ExpressionError(f"{f.label} field: empty item in {text!r}")
        found.update(_item(item, f))
    return tuple(sorted(found))


def _days_in(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _MONTH_DAYS[month - 1]


def _weekday(year: int, month: int, day: int) -> int:
    """EventBridge's day of the week: 1=Sunday ... 7=Saturday."""
    return (date(year, month, day).weekday() + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, day: int) -> list[int]:
    last = _days_in(year, month)
    if day > last:
        return []
    for offset in (0, 1, -1, 2, -2):  # as Quartz: never crossing into another month
        candidate = day + offset
        if 1 <= candidate <= last and _weekday(year, month, candidate) not in (1, 7):
            return [candidate]
    return []


class Cron:
    """A parsed cron expression: the values each field allows, and its fire times."""

    __slots__ = ("dom", "dow", "hours", "minutes", "months", "years")

    def __init__(self, fields: tuple[str, ...]) -> None:
        minute, hour, dom, month, dow, year = fields
        self.minutes = _values(minute, MINUTES)
        self.hours = _values(hour, HOURS)
        self.months = _values(month, MONTH)
        self.years = _values(year, YEAR)
        self.dom = _day_of_month(dom)
        self.dow = _day_of_week(dow)

    def days(self, year: int, month: int) -> list[int]:
        """The days of ``month`` in ``year`` the day fields allow, in order."""
        last = _days_in(year, month)
        if self.dom is not None:
            kind, values = self.dom
            if kind == "L":
                return [last]
            if kind == "LW":
                weekday = _weekday(year, month, last)
                return [last - (2 if weekday == 1 else 1 if weekday == 7 else 0)]
            if kind == "W":
                return _nearest_weekday(year, month, values[0])
            return [d for d in values if d <= last]
        assert self.dow is not None
        kind, values = self.dow
        first = _weekday(year, month, 1)
        if kind == "set":
            return [d for d in range(1, last + 1) if (first + d - 2) % 7 + 1 in values]
        wanted, nth = values
        day = 1 + (wanted - first) % 7  # the month's first such weekday
        if kind == "L":
            return [day + 7 * ((last - day) // 7)]
        day += 7 * (nth - 1)
        return [day] if day <= last else []

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire strictly after ``moment`` (naive, in the schedule's zone), or None."""
        start = moment.replace(second=0, microsecond=0, tzinfo=None) + timedelta(minutes=1)
        for year in self.years:
            if year < start.year:
                continue
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                this_month = (year, month) == (start.year, start.month)
                for day in self.days(year, month):
                    if this_month and day < start.day:
                        continue
                    today = this_month and day == start.day
                    for hour in self.hours:
                        if today and hour < start.hour:
                            continue
                        low = start.minute if today and hour == start.hour else 0
                        for minute in self.minutes:
                            if minute >= low:
                                return datetime(year, month, day, hour, minute)
        return None

    def first_fire(self) -> datetime | None:
        """The first time the expression ever fires, or None when it never does."""
        return self.next_after(datetime(FIRST_YEAR - 1, 12, 31, 23, 59))


def _day_of_month(text: str) -> tuple[str, tuple[int, ...]] | None:
    upper = text.upper()
    if upper == "?":
        return None
    if upper in ("L", "LW"):
        return (upper, ())
    if upper.endswith("W") and "," not in upper and "-" not in upper and "/" not in upper:
        return ("W", (_value(text[:-1], DAY_OF_MONTH),))
    return ("set", _values(text, DAY_OF_MONTH))


def _day_of_week(text: str) -> tuple[str, tuple[int, ...]] | None:
    upper = text.upper()
    if upper == "?":
        return None
    if upper == "L":  # the last day of the week
        return ("set", (7,))
    if "#" in upper and "," not in upper and "-" not in upper:
        day, _, nth = text.partition("#")
        if nth not in ("1", "2", "3", "4", "5"):
            raise ExpressionError(f"day-of-week field: {text!r} needs a week of 1-5 after '#'")
        return ("#", (_value(day, DAY_OF_WEEK), int(nth)))
    if upper.endswith("L") and len(upper) > 1 and "," not in upper and "-" not in upper:
        return ("L", (_value(text[:-1], DAY_OF_WEEK), 0))
    return ("set", _values(text, DAY_OF_WEEK))


def compile_cron(fields: tuple[str, ...]) -> Cron:
    """Read six checked-for-count fields into a Cron; ExpressionError when EventBridge would refuse
    them or they can never fire."""
    dom, dow = fields[2], fields[4]
    if (dom == "?") == (dow == "?"):
        raise ExpressionError(
            "exactly one of day-of-month and day-of-week must be '?' "
            f"(got {dom!r} and {dow!r})"
        )
    cron = Cron(fields)
    if cron.first_fire() is None:
        raise ExpressionError("it never fires: no date in its years has the day it names "
                              "(for example, February has no 30th or 31st)")
    return cron
