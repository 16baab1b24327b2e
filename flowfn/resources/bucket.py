"""Buckets: ``Bucket("uploads")`` and the grants on its objects."""

from __future__ import annotations

import os
import re
from typing import ClassVar

from flowfn.errors import ConfigError
from flowfn.resources.base import Access, Grant, Resource

# Prefixes and suffixes AWS reserves in bucket names.
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_BUCKET_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<name>[^/]+)$")


def check_bucket_name(name: str, subject: str, argument: str) -> None:
    """Apply S3's bucket naming rules, raising ConfigError that names subject and argument."""

    def bad(problem: str) -> ConfigError:
        return ConfigError(
            subject,
            argument,
            f"{name!r} {problem}",
            "use 3-63 characters of lowercase letters, digits, '-' and '.', starting and ending "
            "with a letter or digit, for example 'photo-uploads'",
        )

    if not isinstance(name, str):
        raise ConfigError(subject, argument, f"{name!r} is not a string", "pass the bucket's name as a str")
    if not 3 <= len(name) <= 63:
        raise bad(f"is {len(name)} characters long; S3 bucket names are 3-63")
    if not re.fullmatch(r"[a-z0-9.-]+", name):
        raise bad("has characters S3 does not allow (only lowercase letters, digits, '-', '.')")
    if not (name[0].isalnum() and name[-1].isalnum()):
        raise bad("must start and end with a lowercase letter or digit")
    if ".." in name or ".-" in name or "-." in name:
        raise bad("has adjacent periods or a period next to a hyphen")
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", name):
        raise bad("is formatted as an IP address")
    for prefix in _RESERVED_BUCKET_PREFIXES:
        if name.startswith(prefix):
            raise bad(f"starts with {prefix!r}, which S3 reserves")
    for suffix in _RESERVED_BUCKET_SUFFIXES:
        if name.endswith(suffix):
            raise bad(f"ends with {suffix!r}, which S3 reserves")


def _check_prefix(owner: Resource, method: str, prefix: str) -> str:
    if not isinstance(prefix, str):
        raise ConfigError(f"{owner!r}.{method}()", "prefix", f"{prefix!r} is not a string",
                          "give a key prefix such as 'reports/', or leave it out for the whole bucket")
    if "*" in prefix or "?" in prefix:
        raise ConfigError(
            f"{owner!r}.{method}()",
            "prefix",
            f"{prefix!r} contains a wildcard",
            "give a plain key prefix such as 'reports/'; flowfn adds the wildcard itself",
        )
    if prefix.startswith("/"):
        raise ConfigError(
            f"{owner!r}.{method}()",
            "prefix",
            f"{prefix!r} starts with '/', but S3 keys do not",
            f"write it as {prefix.lstrip('/')!r}",
        )
    return prefix


class Bucket(Resource):
    """An S3 bucket the application uses.

    ``Bucket("uploads")`` declares a bucket that flowfn creates (encrypted, public access
    blocked) under a derived, globally unique name. ``Bucket("logs", existing="my-company-logs")``
    (a bucket name or ``arn:aws:s3:::...`` ARN) refers to a bucket that already exists: flowfn wires
    triggers and grants to it but never creates or deletes it.
    """

    kind: ClassVar[str] = "bucket"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.READ, Access.WRITE, Access.DELETE, Access.LIST})
    env_format: ClassVar[str] = "FLOWFN_BUCKET_{}"

    def __init__(self, name: str, *, existing: str | None = None) -> None:
        subject = f"Bucket({name!r})"
        check_bucket_name(name, subject, "name")
        self.logical_name = name
        self.existing = None
        if existing is not None:
            if not isinstance(existing, str):
                raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                                  "pass the existing bucket's name or ARN as a str")
            match = _BUCKET_ARN.match(existing)
            physical = match.group("name") if match else existing
            check_bucket_name(physical, subject, "existing")
            self.existing = physical

    def __repr__(self) -> str:
        if self.existing:
            return f"Bucket({self.logical_name!r}, existing={self.existing!r})"
        return f"Bucket({self.logical_name!r})"

    @property
    def name(self) -> str:
        """The bucket's physical name, read from the running function's environment."""
        if self.existing and not os.environ.get(self.env_key):
            return self.existing
        return self._bound(self.env_key, "bucket name")

    def read(self, prefix: str = "") -> Grant:
        """Grant reading objects (``s3:GetObject``), optionally only under ``prefix``."""
        return Grant(self, Access.READ, _check_prefix(self, "read", prefix))

    def write(self, prefix: str = "") -> Grant:
        """Grant writing objects (``s3:PutObject``), optionally only under ``prefix``."""
        return Grant(self, Access.WRITE, _check_prefix(self, "write", prefix))

    def delete(self, prefix: str = "") -> Grant:
        """Grant deleting objects (``s3:DeleteObject``), optionally only under ``prefix``."""
        return Grant(self, Access.DELETE, _check_prefix(self, "delete", prefix))

    def list(self, prefix: str = "") -> Grant:
        """Grant listing keys (``s3:ListBucket``), optionally only under ``prefix``."""
        return Grant(self, Access.LIST, _check_prefix(self, "list", prefix))
