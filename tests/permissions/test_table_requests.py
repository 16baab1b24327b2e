"""A Query or Scan of a table's index is authorized on the index's ARN, as AWS does."""

from __future__ import annotations

import pytest

from flowfn.permissions.requests import requests_for


@pytest.mark.parametrize(("operation", "params", "resource"), [
    ("Query", {"TableName": "orders", "IndexName": "by_customer"}, "table/orders/index/by_customer"),
    ("Scan", {"TableName": "orders", "IndexName": "by_customer"}, "table/orders/index/by_customer"),
    ("Query", {"TableName": "orders"}, "table/orders"),
    ("Query", {"TableName": "arn:aws:dynamodb:us-east-1:123456789012:table/orders", "IndexName": "i1"},
     "table/orders/index/i1"),
])
def test_a_query_or_scan_of_an_index_is_authorized_on_the_index(
    operation: str, params: dict[str, str], resource: str,
) -> None:
    found = requests_for("dynamodb", operation, params, region="us-east-1", account="123456789012")
    assert found is not None
    assert [(r.action, r.resource) for r in found] == [
        (f"dynamodb:{operation}", f"arn:aws:dynamodb:us-east-1:123456789012:{resource}")]
