"""A fix to moto 5.2's bookkeeping of model instances: it no longer keeps every one alive.

moto lists every instance of every model class it makes (``BaseModel.__new__`` appends it to
the class's ``instances_tracked``), for its dashboard and for S3's reset, and lets go of them
only when the whole emulator is reset. A long local run therefore kept everything it ever
handled: every SQS message after its delete, every overwritten or deleted S3 object with its
bytes, every DynamoDB item version and stream record, and a DynamoDB Streams shard iterator for
each read, so an idle stream poller alone grew the process by about five objects a second. Sending
and deleting 2,000 messages of 1 KB, overwriting a 1 MiB object 50 times and writing one item
500 times grew a run by 47 MiB, all of it garbage moto still listed.

Here the lists hold weak references (:class:`WeakInstances`): they name the instances still in
use, as before, and let the others go. A list is made weak when its class next makes an
instance (moto's reset puts plain lists back). S3 objects closed their buffers only when moto's
reset listed them; one nobody refers to any more now closes its buffer as it goes, without the
warning moto gives for keys its reset missed (``FakeKey.__del__``).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

__all__ = ["WeakInstances", "base_model_new", "fake_key_del"]

_ref = weakref.ref
_new = object.__new__


class WeakInstances:
    """A class's instances as moto lists them (``append``, iteration), each held weakly.

    Dead references are dropped when the list has doubled since it was last pruned, so its length
    stays within twice the live count (1,024 at least). Iterating gives the live instances. An
    instance that cannot be referenced weakly is not listed.
    """

    __slots__ = ("_limit", "_refs")

    def __init__(self, instances: Any = ()) -> None:
        self._refs: list[weakref.ref[Any]] = []
        self._limit = 1024
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        try:
            reference = _ref(instance)
        except TypeError:
            return
        refs = self._refs
        refs.append(reference)
        if len(refs) > self._limit:
            live = [r for r in refs if r() is not None]
            self._refs, self._limit = live, max(1024, 2 * len(live))

    def __iter__(self) -> Iterator[Any]:
        for reference in list(self._refs):
            instance = reference()
            if instance is not None:
                yield instance

    def __len__(self) -> int:
        return sum(1 for r in self._refs if r() is not None)


def base_model_new(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """``BaseModel.__new__`` that lists the new instance weakly.

    moto's made the instance with ``object.__new__`` and appended it to the class's list, which
    kept it alive until moto was reset.
    """
    instance = _new(cls)
    tracked = cls.__dict__.get("instances_tracked")
    if type(tracked) is not WeakInstances:  # a plain list: moto's own, or put back by its reset
        tracked = WeakInstances(tracked or ())
        cls.instances_tracked = tracked
    tracked.append(instance)
    return instance


def fake_key_del(self: Any) -> None:
    """``FakeKey.__del__`` that closes the buffer of an object nobody refers to any more.

    moto's also closed it, but warned (ResourceWarning) that the key had not been disposed of in
    time: with every key listed until its reset, only a key its reset missed went that way.
    """
    if not getattr(self, "disposed", True):
        self.dispose()

