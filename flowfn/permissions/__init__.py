"""Each function's policy, the one ``flowfn synth`` writes, enforced on its AWS calls locally.

See :mod:`flowfn.permissions.guard` for how calls are caught, :mod:`.actions` for which IAM
actions each operation needs, :mod:`.evaluate` for the evaluator and :mod:`.report` for the
used-versus-granted report.
"""

from flowfn.permissions.guard import MODES, Call, Guard, Mode, installed
from flowfn.permissions.report import FunctionUsage, format_report, usage

__all__ = ["MODES", "Call", "FunctionUsage", "Guard", "Mode", "format_report", "installed", "usage"]
