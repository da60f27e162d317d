"""docs/hooks.md documents every hook in krakenwire.hookspecs, with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from krakenwire import hookspecs
from krakenwire.plugins import PluginHost

DOC = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"


def _hooks() -> list[str]:
    names = [
        n
        for n, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(getattr(hookspecs, n), "krakenwire_spec")
    ]
    # the manager's view agrees with the module's
    pm_names = {n for n in vars(PluginHost(autoload=False).pm.hook) if not n.startswith("_")}
    assert set(names) == pm_names
    return sorted(names)


def _signature(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def test_there_are_hooks():
    assert len(_hooks()) >= 4


@pytest.mark.parametrize("name", _hooks())
def test_hook_is_documented_with_its_signature(name):
    text = DOC.read_text()
    assert f"## {name}\n" in text, f"docs/hooks.md has no section for {name}"
    assert _signature(name) in text, f"docs/hooks.md lacks the signature {_signature(name)}"
