"""A fix to moto 5.2's response serializer: a member found in a dict at once, not through every alias.

moto writes each answer by walking the operation's output shape, and finds each member's value
in what the backend returned by trying a list of candidate names: aliases from six providers
(the member's shape name, a prefix-free form, a class-name-free form, the model's wire name, and
so on), each with ``xform_name``'s snake_case form. Every candidate builds a provider object and
asks it, so one member cost about 7 us, and a DynamoDB Streams ``GetRecords`` of 1,000 records,
whose images are nested dicts of members, spent about 0.3 s in it: the emulator served about
3,000 records a second.

For a plain dict the candidates depend only on the member's shape and name (an object's
``Meta`` aliases and class name are not a dict's), so ``AttributePicker.__call__`` here asks
moto's providers once per shape and name, keeps the list, and looks the candidates up in that
order, as moto's walk does. Objects other than plain dicts, and pickers other than moto's two
with its default providers, take moto's path.
"""

from __future__ import annotations

from typing import Any

from flowfn.local.moto_patches._moto import ORIGINALS

__all__ = ["attribute_picker_call"]

_MISSING: Any = object()
#: Candidate names by (picker class, shape, member name): shapes live as long as their service
#: model, which moto keeps, so the table stays as small as the models' members.
_candidates: dict[tuple[type, Any, str], tuple[str, ...]] = {}
#: moto's serializer module and ``get_value``, imported on the first call (moto is heavy).
_moto: list[Any] = []


def attribute_picker_call(self: Any, context: Any) -> Any:
    """``AttributePicker.__call__``: the value of ``context.key`` in ``context.obj``."""
    if not _moto:
        from moto.core import serialize, utils

        _moto[:] = [serialize.DEFAULT_ALIAS_PROVIDERS,
                    (serialize.AttributePicker, serialize.XFormedAttributePicker), utils.get_value]
    defaults, pickers, get_value = _moto
    obj = context.obj
    kind = type(self)
    if type(obj) is not dict or self.alias_providers is not defaults or kind not in pickers:
        return ORIGINALS["serialize.AttributePicker.__call__"](self, context)
    found = (kind, context.shape, context.key)
    names = _candidates.get(found)
    if names is None:
        names = _candidates[found] = tuple(self.get_possible_keys(context))
    value = None
    for name in names:
        got = obj.get(name, _MISSING) if "." not in name else get_value(obj, name, _MISSING)
        if got is not _MISSING:
            value = got
            break
    transformers = self.response_transformers
    if transformers:
        key_path = f"{context.key_path}.{context.key}"
        for transform_path, transform in transformers.items():
            if key_path.endswith(transform_path):
                return transform(value)
    return value
