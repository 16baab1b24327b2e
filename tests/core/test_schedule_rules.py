"""Schedules: every expression that validates fires, and every one that cannot is refused as declared."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from aws_croniter import AwsCroniter
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from flowfn import App, ConfigError
from flowfn.cli import cli
from flowfn.triggers.schedule import ScheduleTrigger, make_schedule_trigger

NOW = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)


def tick() -> None:
    """A schedule handler."""


def schedule(expression: object, **kw: object) -> ScheduleTrigger:
    app = App("t")
    app.on_schedule(expression, **kw)(tick)  # type: ignore[arg-type]
    trigger = app.handlers[0].trigger
    assert isinstance(trigger, ScheduleTrigger)
    return trigger


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("cron(0 0 31 2 ? *)", "never fires"),
        ("cron(0 0 30 2 ? *)", "never fires"),
        ("cron(0 0 31W 2 ? *)", "never fires"),
        ("cron(0 0 29 2 ? 2101)", "never fires"),
        ("cron(0 0 31 4,6,9,11 ? *)", "never fires"),
        ("cron(0 0 1 1 ? 1969)", "outside 1970-2199"),
        ("cron(0 0 1 1 ? 2200)", "outside 1970-2199"),
        ("rate(1000000000 days)", "never fire"),
        ("rate(84007 days)", "the most is 84006 days"),
        ("rate(2016145 hours)", "the most is 2016144 hours"),
        ("cron(0 0 ? * 2#1,3#2 *)", "stand alone"),
        ("cron(0 0 L,15 * ? *)", "stand alone"),
        ("cron(0 0 1W,15 * ? *)", "stand alone"),
        ("cron(0 0 ? * 6L,2 *)", "stand alone"),
        ("cron(*/100 * * * ? *)", "step of 1-59"),
        ("cron(0 */24 * * ? *)", "step of 1-23"),
        ("cron(0/0 * * * ? *)", "step of 1-59"),
        ("cron(0 0 ? * MON-FRI/2 *)", "'/' is not allowed"),
        ("cron(0 0 ? * */2 *)", "'/' is not allowed"),
        ("cron(0 0 1 1 ? 2100-2050)", "runs backwards"),
        ("cron(0 0 1 1 ? 203)", "outside 1970-2199"),
        ("cron(0 0 1 1 ? 02030)", "4-digit year"),
        ("cron(005 0 * * ? *)", "not a number"),
        ("cron(0 0 1 1#2 ? *)", "'#' is allowed only in day-of-week"),
        ("cron(L 0 * * ? *)", "allowed only in the day fields"),
        ("cron(\u00b2 * * * ? *)", "not a character"),
        ("cron(0\u20030 * * ? *)", "not a character"),
        ("rate(\u0663 minutes)", "rate(N unit)"),
        ("rate(5\u00a0minutes)", "rate(N unit)"),
    ],
)
def test_refused_when_declared(expression: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        schedule(expression)
    assert caught.value.argument == "expression"
    assert why in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("expression", "first"),
    [
        ("cron(0 0 LW * ? *)", datetime(2026, 11, 30, tzinfo=UTC)),          # Monday the 30th
        ("cron(0 0 LW 1 ? 2028)", datetime(2028, 1, 31, tzinfo=UTC)),
        ("cron(0 0 LW 4 ? 2027)", datetime(2027, 4, 30, tzinfo=UTC)),        # Friday (the 30th)
        ("cron(0 0 LW 10 ? 2027)", datetime(2027, 10, 29, tzinfo=UTC)),      # 31st is a Sunday
        ("cron(0 0 1 1 ? 2030/2)", datetime(2030, 1, 1, tzinfo=UTC)),
        ("cron(0 0 1 1 ? */50)", datetime(2070, 1, 1, tzinfo=UTC)),
        ("cron(0 0 ? FEB 2#5 *)", datetime(2044, 2, 29, tzinfo=UTC)),      # Feb 1 2044 is a Monday
        ("cron(0 0 ? * L *)", datetime(2026, 11, 28, tzinfo=UTC)),           # L alone: Saturday
        ("cron(0 0 1 1 ? 2199)", datetime(2199, 1, 1, tzinfo=UTC)),
        ("rate(84006 days)", NOW.replace(year=2256, month=11, day=22)),
    ],
)
def test_expressions_that_validate_fire(expression: str, first: datetime) -> None:
    trigger = schedule(expression)
    fires = trigger.next_fires(NOW, 3)
    assert fires[0].replace(hour=0, minute=0) == first.replace(hour=0, minute=0)
    assert trigger.english()


def test_a_schedule_that_ends_gives_the_fires_it_has() -> None:
    assert schedule("cron(0 0 1 1 ? 2199)").next_fires(NOW, 3) == [datetime(2199, 1, 1, tzinfo=UTC)]
    assert schedule("cron(0 0 1 1 ? 2020-2027)").next_fires(NOW, 3) == [datetime(2027, 1, 1, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("argument", "value"), [("timezone", 3), ("timezone", b"Europe/Paris"), ("timezone", "localtime"),
                            ("timezone", "../Europe/Paris"), ("enabled", "yes"), ("enabled", None)],
)
def test_other_arguments_of_the_wrong_type_or_value(argument: str, value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        schedule("rate(1 hour)", **{argument: value})
    assert caught.value.argument == argument


APP = "from flowfn import on_schedule\n@on_schedule('{expression}')\ndef tick(): ...\n"


def test_list_names_a_schedule_whose_years_are_past(tmp_path: Path) -> None:
    target = tmp_path / "past_app.py"
    target.write_text(APP.format(expression="cron(0 0 1 1 ? 1970-2020)"))
    result = CliRunner().invoke(cli, ["list", str(target)], env={"COLUMNS": "250"})
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "handler 'tick', argument 'expression'" in result.output
    assert "never fires after" in result.output


@pytest.mark.parametrize("expression", ["cron(0 0 1 1 ? 2199)", "cron(0 0 ? FEB 2#5 *)",
                                        "cron(0 0 LW * ? *)", "cron(0 0 1 1 ? 2030/2)"])
def test_list_shows_sparse_and_ending_schedules(tmp_path: Path, expression: str) -> None:
    target = tmp_path / "sparse_app.py"
    target.write_text(APP.format(expression=expression))
    result = CliRunner().invoke(cli, ["list", str(target)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "UTC" in result.output


# -- agreement with aws-croniter where both read the expression ------------------------------

def _field(draw: st.DrawFn, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    kind = draw(st.sampled_from(["*", "value", "range", "step", "list"]))
    value = st.integers(low, high)
    if kind == "*":
        return "*"
    if kind == "value":
        return str(draw(value))
    if kind == "range":
        a, b = sorted((draw(value), draw(value)))
        return f"{a}-{b}"
    if kind == "step":
        return f"{draw(st.sampled_from(['*', str(draw(value))]))}/{draw(st.integers(1, high))}"
    return ",".join(str(v) for v in sorted(draw(st.sets(value, min_size=1, max_size=4))))


@st.composite
def crons(draw: st.DrawFn) -> str:
    minute, hour = _field(draw, 0, 59), _field(draw, 0, 23)
    month = _field(draw, 1, 12)
    year = draw(st.sampled_from(["*", "2026-2040", "2027", "2030,2035"]))
    by_week = draw(st.booleans())
    if by_week:
        dow = draw(st.one_of(
            st.sampled_from(["*", "MON-FRI", "1", "7", "2,4,6"]),
            st.builds(lambda d, n: f"{d}#{n}", st.integers(1, 7), st.integers(1, 5)),
            st.builds(lambda d: f"{d}L", st.integers(1, 7)),
        ))
        return f"{minute} {hour} ? {month} {dow} {year}"
    # Not LW: aws-croniter accepts it but cannot compute it.
    special = draw(st.sampled_from(["L", f"{draw(st.integers(1, 31))}W", None, None]))
    dom = special or _field(draw, 1, 31)
    return f"{minute} {hour} {dom} {month} ? {year}"


@settings(max_examples=150, deadline=None, derandomize=True)
@given(crons())
@example("0 0 29 2 ? *")
@example("0/5 9-17 ? * MON-FRI *")
def test_fire_times_agree_with_aws_croniter(fields: str) -> None:
    try:
        trigger = make_schedule_trigger(f"cron({fields})", None, True, "h")
    except ConfigError as exc:
        assert "never fires" in str(exc)  # the generator writes only EventBridge syntax
        assert AwsCroniter(fields).get_next(datetime(1970, 1, 1, tzinfo=UTC))[0] is None
        return
    ours = trigger.next_fires(NOW, 3)
    theirs = AwsCroniter(fields).get_next(NOW, n=3)
    # aws-croniter gives up (None) after ten month or year jumps; where it answers, we agree.
    answered = [t for t in theirs if t is not None]
    assert ours[: len(answered)] == answered


def _ending_app() -> App:
    app = App("ending")
    app.on_schedule("cron(0 0 1 1 ? 2025-2026)", name="new_year")(tick)
    return app


@pytest.mark.slow
def test_the_local_clock_runs_a_schedule_to_its_last_fire() -> None:
    from flowfn.testing import run_app

    with run_app(_ending_app(), start=datetime(2025, 6, 1, tzinfo=UTC)) as harness:
        fired = harness.clock.advance(days=3 * 365)
        assert [i.event["time"] for i in fired] == ["2026-01-01T00:00:00Z"]
        assert harness.clock.next_fires() == {}


@pytest.mark.slow
def test_the_local_clock_names_a_schedule_whose_years_are_past() -> None:
    from flowfn.testing import run_app

    with (pytest.raises(ConfigError, match=r"handler 'new_year', argument 'expression'.*never fires after 2027"),
          run_app(_ending_app(), start=datetime(2027, 6, 1, tzinfo=UTC))):
        pass
