"""CloudFormation from the registry: templates, least-privilege IAM, code assets, graphs.

``synthesize`` is pure (registry in, template out); ``synth_app`` adds the I/O around it (reading
the app's files for the code zip, and pip when bundling dependencies); ``policy_for`` gives one
function's IAM policy; ``mermaid`` draws what triggers what.
"""

from flowfn.synth.context import SynthError
from flowfn.synth.generator import Synthesis, synthesize
from flowfn.synth.graph import mermaid
from flowfn.synth.iam import Policy, Statement, Target, concrete_arn, policy_for
from flowfn.synth.options import SynthOptions, current_python
from flowfn.synth.pipeline import Output, synth_app
from flowfn.synth.render import render

__all__ = [
    "Output",
    "Policy",
    "Statement",
    "SynthError",
    "SynthOptions",
    "Synthesis",
    "Target",
    "concrete_arn",
    "current_python",
    "mermaid",
    "policy_for",
    "render",
    "synth_app",
    "synthesize",
]
