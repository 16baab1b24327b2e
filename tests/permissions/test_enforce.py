"""Every AWS call a handler makes is held to its function's synthesized policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from flowfn.local.invoker import Invocation
from flowfn.testing import Harness, run_app

APP = str(Path(__file__).parent / "apps" / "grants.py")


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    with run_app(APP) as h:
        yield h


def _denied(inv: Invocation) -> ClientError:
    assert isinstance(inv.error, ClientError), inv.error
    return inv.error


def test_undeclared_bucket_written_by_name_is_denied_as_aws_denies_it(harness: Harness) -> None:
    error = _denied(harness.fire("undeclared_write"))
    assert error.response["Error"]["Code"] == "AccessDenied"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    message = str(error)
    assert message.startswith("An error occurred (AccessDenied) when calling the PutObject operation: "
                              "User: arn:aws:sts::123456789012:assumed-role/undeclared_write-role/"
                              "undeclared_write is not authorized to perform: s3:PutObject on resource: "
                              '"arn:aws:s3:::somebody-elses/x.txt" because no identity-based policy allows')
    assert "bucket 'somebody-elses' is not declared" in message
    assert "handler 'undeclared_write'" in message


def test_the_same_write_with_the_grant_passes(harness: Harness) -> None:
    assert harness.fire("declared_write").ok
    assert harness.keys("partner") == ["x.txt"]


def test_a_write_outside_the_granted_prefix_is_denied_inside_passes(harness: Harness) -> None:
    error = _denied(harness.fire("prefixed_write"))
    assert '"arn:aws:s3:::reports/elsewhere/outside.txt"' in str(error)
    assert 'Fix: add uses=[reports.write(prefix="elsewhere/")] to handler \'prefixed_write\'' in str(error)
    assert harness.keys("reports") == ["out/inside.txt"]


def test_a_write_with_only_a_read_grant_is_denied(harness: Harness) -> None:
    error = _denied(harness.fire("read_only_write"))
    assert "s3:PutObject" in str(error)
    assert "Fix: add uses=[archive.write()] to handler 'read_only_write'" in str(error)


def test_send_message_batch_is_sqs_send_message_on_the_queue(harness: Harness) -> None:
    error = _denied(harness.fire("batch_send"))
    assert error.operation_name == "SendMessageBatch"
    assert "perform: sqs:SendMessage on resource: \"arn:aws:sqs:us-east-1:123456789012:other\"" in str(error)
    assert harness.messages("jobs") == ["a"]
    assert harness.messages("other") == []


def test_copy_object_needs_read_on_the_source_and_write_on_the_destination(harness: Harness) -> None:
    harness.upload("source", "original.txt", b"data")
    assert harness.fire("copy_both").ok
    assert harness.download("archive", "copy.txt") == b"data"
    error = _denied(harness.fire("copy_write_only"))
    assert 's3:GetObject on resource: "arn:aws:s3:::source/original.txt"' in str(error)


def test_transact_write_items_checks_each_item_on_its_table(harness: Harness) -> None:
    error = _denied(harness.fire("transact"))
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert ('dynamodb:PutItem on resource: "arn:aws:dynamodb:us-east-1:123456789012:table/orders"'
            in str(error))


def test_a_call_from_a_thread_the_handler_started_is_checked(harness: Harness) -> None:
    error = _denied(harness.fire("from_thread"))
    assert '"arn:aws:s3:::somebody-elses/t.txt"' in str(error)
    assert "assumed-role/from_thread-role/from_thread" in str(error)


def test_the_report_lists_unused_grants_denials_and_unchecked_calls(harness: Harness) -> None:
    assert harness.fire("lists_archive").ok
    assert harness.fire("asks_sts").ok
    report = harness.permissions()
    listing = report["lists_archive"]
    assert ("s3:ListBucket", "arn:aws:s3:::archive") in listing.used
    assert listing.unused == (("s3:GetObject", "arn:aws:s3:::reports/in/*"),)
    assert report["asks_sts"].unchecked == ("sts:GetCallerIdentity",)
    assert ("s3:PutObject", "arn:aws:s3:::somebody-elses/x.txt") in report["undeclared_write"].denied


def test_flowfns_own_clients_are_not_checked(harness: Harness) -> None:
    # The harness's and pollers' clients run outside any invocation: nothing they do is recorded.
    guard = harness.local.invoker.guard
    assert guard is not None
    before = len(guard.calls)
    harness.upload("archive", "seen.txt", b"x")
    assert "seen.txt" in harness.keys("archive")
    assert len(guard.calls) == before



def test_multipart_uploads_from_s3transfer_threads_are_checked(harness: Harness) -> None:
    error = _denied(harness.fire("transfers"))
    assert error.operation_name == "CreateMultipartUpload"
    assert '"arn:aws:s3:::reports/elsewhere/big.bin"' in str(error)
    assert "out/big.bin" in harness.keys("reports")
    parts = [c for c in harness.local.invoker.guard.calls  # type: ignore[union-attr]
             if c.function == "transfers" and c.operation == "s3:UploadPart"]
    assert len(parts) == 2 and all(c.decision == "allowed" for c in parts)
