"""permissions="warn" logs and allows, "off" checks nothing; another mode is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from flowfn.errors import FlowfnError
from flowfn.testing import Harness, run_app

APP = str(Path(__file__).parent / "apps" / "grants.py")


def test_warn_mode_logs_allows_and_reports(caplog: pytest.LogCaptureFixture) -> None:
    with run_app(APP, permissions="warn") as harness:
        assert harness.fire("read_only_write").ok
        assert harness.keys("archive") == ["x.txt"]
        assert harness.permissions()["read_only_write"].denied == (
            ("s3:PutObject", "arn:aws:s3:::archive/x.txt"),)
    warned = [r.getMessage() for r in caplog.records if r.name == "flowfn.permissions"]
    assert any("would be denied in AWS" in m and "archive.write()" in m for m in warned)


def test_off_checks_nothing() -> None:
    with run_app(APP, permissions="off") as harness:
        assert harness.fire("read_only_write").ok
        assert harness.permissions()["read_only_write"].denied == ()


def test_an_unknown_mode_is_one_clear_error() -> None:
    refused = pytest.raises(FlowfnError, match=r"permissions='strict' is not a mode. Fix: use one of enforce, warn")
    with refused, run_app(APP, permissions="strict"):
        pass


def test_a_thread_the_handler_starts_reaches_the_emulator_in_every_mode() -> None:
    # It sees its function's environment (the emulator's endpoint), never AWS's own endpoint.
    with run_app(APP, permissions="off") as harness:
        error = harness.fire("from_thread").error
        assert type(error).__name__ == "NoSuchBucket", error


def test_the_pytest_fixture_takes_the_switch(flowfn_app: Callable[..., Harness]) -> None:
    harness = flowfn_app(APP, permissions="warn")
    assert harness.fire("read_only_write").ok
    assert harness.permissions()["read_only_write"].denied


def test_a_client_made_before_the_run_started_is_checked_too() -> None:
    import boto3

    from flowfn import App

    early = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    app = App("early")

    @app.on_schedule("rate(1 day)", enabled=False)
    def uses_early_client() -> None:
        early.put_object(Bucket="somebody-elses", Key="k", Body=b"")

    with run_app(app) as harness:
        error = harness.fire("uses_early_client").error
    assert isinstance(error, ClientError) and error.response["Error"]["Code"] == "AccessDenied", error


def test_a_policy_is_built_on_the_first_checked_call_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Building a policy imports synth and walks the app: a function that calls no AWS API, or any
    # function with checks off, does not pay for it.
    from flowfn import App
    from flowfn.synth import iam

    built: list[str] = []
    policy_for = iam.policy_for
    monkeypatch.setattr(iam, "policy_for", lambda app, handler: built.append(handler.name) or policy_for(app, handler))
    app = App("lazy-policy")

    @app.on_schedule("rate(1 day)", enabled=False)
    def quiet() -> None:
        pass

    @app.on_schedule("rate(1 day)", enabled=False)
    def calls_s3() -> None:
        import boto3

        boto3.client("s3").list_buckets()

    for mode in ("enforce", "off"):
        with run_app(app, permissions=mode) as harness:
            assert harness.fire("quiet").ok
            assert built == []
            harness.fire("calls_s3")
            harness.fire("calls_s3")
            assert built == (["calls_s3"] if mode == "enforce" else [])
        built.clear()


def test_a_long_run_records_object_writes_by_the_grant_that_allowed_them() -> None:
    # run-local keeps each distinct call once; an object key in each would grow with every event.
    import boto3

    from flowfn import App, Bucket
    from flowfn.local.engine import LocalApp, Options
    from flowfn.permissions.report import usage

    app = App("keys")
    notes = Bucket("notes")

    @app.on_schedule("rate(1 day)", enabled=False, uses=[notes.write(prefix="in/")])
    def write_many() -> None:
        s3 = boto3.client("s3")
        for n in range(30):
            s3.put_object(Bucket=notes.name, Key=f"in/{n}.txt", Body=b"x")
        s3.put_object(Bucket=notes.name, Key="other/x.txt", Body=b"x")

    with LocalApp(app, Options(keep_records=False)) as local:
        record = local.invoker.invoke(local.app.handler("write_many"), {}, source="test")
        guard = local.invoker.guard
        assert guard is not None
        report = usage(guard)["write_many"]
    assert record.outcome == "error" and "AccessDenied" in str(record.error)
    bucket = local.bindings.buckets["notes"]
    assert report.used == (("s3:PutObject", f"arn:aws:s3:::{bucket}/in/*"),)
    assert report.denied == (("s3:PutObject", f"arn:aws:s3:::{bucket}/other/x.txt"),)
    assert len(guard.calls) == 2
