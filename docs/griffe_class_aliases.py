"""A griffe extension for the API reference: a class attribute assigned a function defined in
another module (``add_order = _entry.add_order``, ``order = staticmethod(_order)``) is documented
as that function, under the class's name (``krakenwire.Client.add_order``).

Static analysis sees such an attribute as a value with no docstring, which the reference would
leave out; importing the package instead (griffe's inspection) loses the attribute docstrings of
module constants. This keeps static analysis and points those attributes at their functions.
"""

from __future__ import annotations

from typing import Any

import griffe


def _target(value: Any) -> str | None:
    """The dotted path an attribute's value names, if it is ``mod.func`` or
    ``staticmethod(mod.func)``."""
    if isinstance(value, griffe.ExprCall) and str(value.function) == "staticmethod":
        args = list(value.arguments)
        if len(args) == 1 and isinstance(args[0], griffe.ExprName):
            return args[0].canonical_path
        return None
    if isinstance(value, griffe.ExprAttribute):
        return value.canonical_path
    return None


class ClassAliases(griffe.Extension):
    """Turn ``name = module.function`` class attributes into aliases of the function."""

    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        for name, member in list(cls.members.items()):
            if name.startswith("_") or member.is_alias or not member.is_attribute:
                continue
            if member.docstring is not None:
                continue
            target = _target(member.value)
            module = cls.module.path
            if (
                target is not None
                and target.isidentifier() is False
                and all(part.isidentifier() for part in target.split("."))
                and target.split(".")[0] == module.split(".")[0]
                and not target.startswith(cls.path + ".")
            ):
                cls.set_member(name, griffe.Alias(name, target, parent=cls))
