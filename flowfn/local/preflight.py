"""Mistakes in the environment of a local run, caught before they surface deep inside botocore.

A local run talks only to an emulator with dummy credentials, yet botocore still reads the AWS
profile the environment names, and an ``--endpoint-url`` with nothing behind it fails on the
first call. :func:`check_profile` runs first; :func:`explain` turns what botocore raises into a
:class:`~flowfn.errors.FlowfnError` that names the setting and the fix.
"""

from __future__ import annotations

import os

from flowfn.errors import FlowfnError

__all__ = ["check_profile", "explain"]

_PROFILE_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")


def _missing_profile(variable: str, profile: str) -> FlowfnError:
    return FlowfnError(
        f"{variable} names the profile {profile!r}, which no AWS config or credentials file defines. "
        f"Fix: unset {variable} (local runs use dummy credentials and never read it), or create the "
        "profile with `aws configure --profile NAME`."
    )


def check_profile() -> None:
    """Raise FlowfnError when AWS_PROFILE (or AWS_DEFAULT_PROFILE) names a profile that does not exist."""
    named = [(v, os.environ[v]) for v in _PROFILE_VARIABLES if os.environ.get(v)]
    if not named:
        return
    import botocore.session

    known = set(botocore.session.Session().available_profiles)
    for variable, profile in named:
        if profile not in known:
            raise _missing_profile(variable, profile)


def explain(exc: BaseException, endpoint_url: str | None,
            option: str = "--endpoint-url") -> FlowfnError | None:
    """The user's mistake behind ``exc``, raised while starting a local run, or None when it is not one."""
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ProfileNotFound

    if isinstance(exc, ProfileNotFound):
        variable = next((v for v in _PROFILE_VARIABLES if os.environ.get(v)), "AWS_PROFILE")
        return _missing_profile(variable, str(exc.kwargs.get("profile", "")))
    if endpoint_url is not None and isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return FlowfnError(
            f"nothing answers at {option} {endpoint_url}. Fix: start the emulator there (LocalStack, or "
            f"`moto_server -p PORT`), or leave out {option} to run on the embedded one."
        )
    return None
