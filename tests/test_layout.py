"""The layout shows the architecture: the IO-free core imports without the IO stack, and the
package loads its names on first use."""

import subprocess
import sys

IO = ("picows", "asyncio", "pluggy", "uvloop", "aiohttp")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {IO!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_sans_io_core_imports_without_picows_asyncio_or_pluggy():
    assert _loaded_after("import krakenwire.protocol") == []
    assert _loaded_after("from krakenwire.protocol import Router, batch_cancel, METHODS") == []


def test_the_package_is_lazy_and_every_public_name_resolves():
    assert _loaded_after("import krakenwire; krakenwire.__version__") == []
    import krakenwire

    for name in krakenwire.__all__:
        assert getattr(krakenwire, name) is not None, name
    assert set(krakenwire.__all__) <= set(dir(krakenwire))


def test_an_unknown_name_is_an_attribute_error():
    import krakenwire

    try:
        krakenwire.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("no AttributeError")
