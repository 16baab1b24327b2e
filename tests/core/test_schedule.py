"""EventBridge schedules: descriptions and fire times, checked against aws-croniter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aws_croniter import AwsCroniter
from hypothesis import assume, given
from hypothesis import strategies as st

from flowfn.triggers.schedule import ExpressionError, make_schedule_trigger, parse_cron, parse_rate

NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "english"),
    [
        ("cron(0 3 * * ? *)", "at 03:00 every day (UTC)"),
        ("cron(15 9 ? * MON-FRI *)", "at 09:15 on Monday through Friday (UTC)"),
        ("cron(0 12 ? * 2,6 *)", "at 12:00 on Monday and Friday (UTC)"),
        ("cron(0 0 L * ? *)", "at 00:00 on the last day of the month (UTC)"),
        ("cron(0 8 ? * 2#1 *)", "at 08:00 on the first Monday of the month (UTC)"),
        ("cron(0/10 * * * ? *)", "every 10 minutes every day (UTC)"),
        ("cron(0 6 1 JAN ? 2027)", "at 06:00 on day 1 of the month in January in 2027 (UTC)"),
        ("rate(1 hour)", "every hour (UTC)"),
        ("rate(15 minutes)", "every 15 minutes (UTC)"),
    ],
)
def test_english(expression: str, english: str) -> None:
    assert make_schedule_trigger(expression, None, True, "h").english() == english


@pytest.mark.parametrize(
    "expression",
    ["cron(0 3 * * ? *)", "cron(15 9 ? * MON-FRI *)", "cron(0 0 L * ? *)", "cron(0 8 ? * 2#1 *)",
     "cron(0/10 * * * ? *)", "cron(5 4 ? * 1 *)", "cron(0 0 15W * ? *)"],
)
def test_next_fires_match_aws_croniter(expression: str) -> None:
    trigger = make_schedule_trigger(expression, None, True, "h")
    fires = trigger.next_fires(NOW, 3)
    expected = AwsCroniter(expression[5:-1]).get_next(NOW + timedelta(seconds=1), n=3)
    assert fires == expected
    assert all(t > NOW for t in fires)


def test_sunday_is_day_one() -> None:
    fires = make_schedule_trigger("cron(0 12 ? * 1 *)", None, True, "h").next_fires(NOW, 2)
    assert [t.strftime("%A") for t in fires] == ["Sunday", "Sunday"]


def test_timezone_schedule_follows_daylight_saving() -> None:
    trigger = make_schedule_trigger("cron(0 9 * * ? *)", "Europe/Paris", True, "h")
    winter = trigger.next_fires(datetime(2026, 1, 10, tzinfo=UTC), 1)[0]
    summer = trigger.next_fires(datetime(2026, 7, 10, tzinfo=UTC), 1)[0]
    assert (winter.hour, summer.hour) == (8, 7)


def test_rate_counts_from_now() -> None:
    fires = make_schedule_trigger("rate(5 minutes)", None, True, "h").next_fires(NOW, 3)
    assert fires == [NOW + timedelta(minutes=5 * i) for i in (1, 2, 3)]


@given(st.integers(min_value=1, max_value=10_000), st.sampled_from(["minute", "hour", "day"]))
def test_rate_grammar(value: int, unit: str) -> None:
    seconds = {"minute": 60, "hour": 3600, "day": 86_400}[unit]
    right = f"rate({value} {unit}{'' if value == 1 else 's'})"
    wrong = f"rate({value} {unit}{'s' if value == 1 else ''})"
    assert parse_rate(right) == value * seconds
    with pytest.raises(ExpressionError):
        parse_rate(wrong)


@given(
    st.integers(0, 59), st.integers(0, 23), st.integers(1, 31), st.integers(1, 12), st.integers(1, 7),
    st.booleans(),
)
def test_valid_cron_agrees_with_aws_croniter(
    minute: int, hour: int, dom: int, month: int, dow: int, by_weekday: bool
) -> None:
    assume(by_weekday or dom <= (29, 30, 31)[(month in (1, 3, 5, 7, 8, 10, 12)) + (month != 2)])  # a real date
    fields = f"{minute} {hour} {'?' if by_weekday else dom} {month} {dow if by_weekday else '?'} *"
    assert parse_cron(fields)
    AwsCroniter(fields)  # aws-croniter accepts what flowfn accepts
