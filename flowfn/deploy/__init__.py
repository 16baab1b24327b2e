"""Deploying an app to AWS through CloudFormation change sets: the I/O behind ``flowfn deploy``.

``aws`` opens the clients (profile, region, endpoint) and turns the environment's mistakes into
one-line errors; ``assets`` uploads the code, layers and nested templates, content-addressed;
``changes`` creates, reads and classifies a change set; ``events`` follows a stack's events to the
end and finds the first failure; ``destroy``, ``logs`` and ``bootstrap`` back the commands of the
same names. Nothing here prints: the command line (``flowfn.cli_deploy``) does.
"""

from __future__ import annotations

from flowfn.deploy.aws import Aws, DeployError, UserError, connect

__all__ = ["Aws", "DeployError", "UserError", "connect"]
