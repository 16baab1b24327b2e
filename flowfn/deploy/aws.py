"""The AWS clients of one deploy, and the environment's mistakes as one-line errors.

Credentials are resolved by botocore as the AWS CLI does (``--profile``, the environment, the
config files, instance roles); flowfn never reads, prints or passes their values on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from flowfn.errors import FlowfnError

__all__ = ["Aws", "DeployError", "UserError", "connect", "explain"]


class DeployError(FlowfnError):
    """A deploy, destroy or logs command that failed in AWS (exit code 1)."""


class UserError(FlowfnError):
    """A mistake in how the command was run or in the environment (exit code 2)."""


@dataclass
class Aws:
    """A boto3 session bound to one region (and, for emulators, one endpoint), with its clients."""

    session: Any
    region: str
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """The session's client for ``service``, made once."""
        found = self._clients.get(service)
        if found is None:
            from botocore.config import Config

            found = self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url,
                config=Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=10))
        return found

    @property
    def cloudformation(self) -> Any:
        return self.client("cloudformation")

    @property
    def s3(self) -> Any:
        return self.client("s3")


def connect(region: str | None = None, profile: str | None = None, endpoint_url: str | None = None) -> Aws:
    """A session for ``profile`` in ``region``; raises UserError for a missing profile, region or
    credentials, naming the fix."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        where = "--profile" if profile else "AWS_PROFILE"
        raise UserError(
            f"{where} names the profile {profile or os.environ.get('AWS_PROFILE')!r}, which no AWS config "
            "or credentials file defines. Fix: create it with `aws configure --profile NAME`, or name "
            "another with --profile."
        ) from None
    chosen = region or session.region_name
    if not chosen:
        raise UserError("no AWS region is set. Fix: pass --region (for example --region eu-west-1), or "
                        "set AWS_REGION, or a region in the profile (`aws configure`).")
    if session.get_credentials() is None:
        raise UserError("no AWS credentials found. Fix: run `aws configure` (or `aws sso login` for an SSO "
                        "profile), name a profile with --profile, or set AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY.")
    return Aws(session, chosen, endpoint_url)


_EXPIRED = ("ExpiredToken", "ExpiredTokenException", "RequestExpired")
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")
_BAD_KEYS = ("InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
             "InvalidAccessKeyId")


def explain(exc: BaseException, endpoint_url: str | None) -> FlowfnError | None:
    """One line for what botocore raised, when it is the environment's mistake; else None.

    Messages name the error code and the fix, never a credential.
    """
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ProfileNotFound,
        TokenRetrievalError,
    )

    if isinstance(exc, NoCredentialsError):
        return UserError("no AWS credentials found. Fix: run `aws configure`, name a profile with "
                         "--profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")
    if isinstance(exc, ProfileNotFound):
        return UserError(f"the profile {exc.kwargs.get('profile', '')!r} is not defined. Fix: create it "
                         "with `aws configure --profile NAME`, or name another with --profile.")
    if isinstance(exc, TokenRetrievalError):
        return UserError("the SSO session has expired. Fix: run `aws sso login` and deploy again.")
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        where = f"--endpoint-url {endpoint_url}" if endpoint_url else "AWS"
        return UserError(f"cannot reach {where}. Fix: check the network (or that the emulator runs), "
                         "and the --region.")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        operation = exc.operation_name
        if code in _EXPIRED:
            return UserError(f"the AWS credentials have expired ({code} on {operation}). Fix: refresh "
                             "them (`aws sso login`, or new session keys) and run again.")
        if code in _BAD_KEYS:
            return UserError(f"AWS does not accept these credentials ({code} on {operation}). Fix: check "
                             "the profile's keys (`aws configure list`), or name another with --profile.")
        if code in _DENIED:
            return UserError(f"the credentials may not call {operation} ({code}). Fix: deploy with a "
                             "role or user allowed to use CloudFormation, S3, IAM and Lambda.")
    return None


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, else ''."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    """The AWS error message of a botocore ClientError, else str(exc)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)
