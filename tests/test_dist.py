"""What a user gets from PyPI: the sdists and wheels of krakenwire and of every plugin in
``plugins/``, installed into a fresh virtualenv, then used the way the README says.

The distributions are built once per source tree (``python -m build --no-isolation``, cached
under ``build/test-dist/<hash>``) and installed with ``pip install 'krakenwire[plugins]'``
resolved against those files; third-party dependencies come from the package index (pip's
cache makes a rerun quick). ``make dist`` builds the same files with build isolation and runs
``twine check``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import krakenwire

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIRS = sorted(p.parent for p in ROOT.glob("plugins/*/pyproject.toml"))
PY = sys.executable
VERSION = krakenwire.__version__

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not PLUGIN_DIRS, reason="needs a source checkout: plugins/ is not in the krakenwire sdist"
    ),
]


def _source_hash() -> str:
    h = hashlib.sha256()
    for base in [ROOT, *PLUGIN_DIRS]:
        for name in ("pyproject.toml", "MANIFEST.in", "LICENSE", "README.md"):
            f = base / name
            if f.is_file():
                h.update(str(f.relative_to(ROOT)).encode() + f.read_bytes())
    for sub in ["src", "tests", "docs", "examples", *(str(p / "src") for p in PLUGIN_DIRS)]:
        for f in sorted((ROOT / sub).rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and ".egg-info" not in str(f):
                h.update(str(f.relative_to(ROOT)).encode() + f.read_bytes())
    return h.hexdigest()[:16]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    kw.setdefault("timeout", 240)
    r = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def dists() -> Path:
    out = ROOT / "build" / "test-dist" / _source_hash()
    if not (out / ".complete").is_file():
        out.mkdir(parents=True, exist_ok=True)
        for d in [ROOT, *PLUGIN_DIRS]:
            # sdist first, then the wheel built from the unpacked sdist (what pip would do)
            _run([PY, "-m", "build", "-q", "--no-isolation", "--outdir", str(out), str(d)])
        (out / ".complete").touch()
    return out


@pytest.fixture(scope="module")
def venv(dists: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("fresh") / "venv"
    _run([PY, "-m", "venv", "--without-pip", str(env_dir)])
    vpy = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    wheels = sorted(dists.glob("*.whl"))
    main = next(w for w in wheels if w.name.startswith(f"krakenwire-{VERSION}-"))
    plugins = [w for w in wheels if w is not main]
    # Our own distributions come from these files, never from an index; [test] brings what
    # the sdists' tests need.
    _run(
        [PY, "-m", "pip", "--python", str(vpy), "install", "-q", f"{main}[plugins,test]", *plugins]
    )
    return vpy


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KRAKENWIRE_", "KRAKEN_", "PYTHON", "VIRTUAL_ENV"))
    }


def _bin(vpy: Path, name: str) -> str:
    return str(vpy.parent / name)


def test_every_distribution_is_built_with_license_and_metadata(dists: Path) -> None:
    names = sorted(p.name for p in dists.iterdir() if not p.name.startswith("."))
    expected = ["krakenwire"] + [p.name.replace("-", "_") for p in PLUGIN_DIRS]
    for name in expected:
        assert f"{name}-{VERSION}.tar.gz" in names, names
        assert f"{name}-{VERSION}-py3-none-any.whl" in names, names
    for whl in dists.glob("*.whl"):
        with zipfile.ZipFile(whl) as z:
            files = z.namelist()
            meta = z.read(next(f for f in files if f.endswith(".dist-info/METADATA"))).decode()
        assert any(f.endswith(".dist-info/licenses/LICENSE") for f in files), whl.name
        assert "License-Expression: MIT" in meta and "Classifier: " in meta, whl.name
        assert "Project-URL: " in meta and "Keywords: " in meta, whl.name
        assert not any(f.startswith(("bench/", "tests/")) for f in files), whl.name
        if whl.name.startswith("krakenwire-"):
            assert 'Requires-Dist: uvloop>=0.19; sys_platform != "win32"' in meta
            assert 'Requires-Dist: krakenwire-risk>=0.1.0; extra == "plugins"' in meta
    for sdist in dists.glob("*.tar.gz"):
        with tarfile.open(sdist) as t:
            members = {m.split("/", 1)[1] for m in t.getnames() if "/" in m}
        assert "LICENSE" in members and "README.md" in members, sdist.name
        assert any(m.startswith("tests/test_") for m in members), sdist.name
        if sdist.name.startswith("krakenwire-"):
            assert {"tests/conftest.py", "tests/_rawclient.py", "docs/hooks.md"} <= members


def test_wheels_in_a_fresh_venv(venv: Path, tmp_path: Path) -> None:
    env = _clean_env()
    kw = {"cwd": tmp_path, "env": env}  # not the checkout: nothing is imported from the source
    r = _run(
        [
            str(venv),
            "-c",
            "import krakenwire, krakenwire_risk, krakenwire_audit, "
            "krakenwire_prometheus, importlib.metadata as m; print(krakenwire.__file__); "
            "print(m.version('krakenwire'))",
        ],
        **kw,
    )
    where, version = r.stdout.split()
    assert str(ROOT) not in where and version == VERSION
    kw_bin = _bin(venv, "krakenwire")
    assert _run([kw_bin, "--version"], **kw).stdout.strip() == f"krakenwire {VERSION}"
    # Every installed entry point is listed, active or not, with what activates it: the audit
    # plugin's factory registers nothing until it has a file to write to, and says so.
    idle = _run([kw_bin, "plugins"], **kw).stdout
    blocks = {b.split("  ", 1)[0]: b for b in re.split(r"\n(?=\S)", idle.strip())}
    assert sorted(blocks) == ["audit", "prometheus", "risk"], idle
    assert "status: active" in blocks["risk"] and "krakenwire_check_request" in blocks["risk"]
    for name, var in (("audit", "KRAKENWIRE_AUDIT_PATH="), ("prometheus", "PROMETHEUS_PORT=")):
        assert "status: inactive" in blocks[name] and var in blocks[name], idle
        assert "        krakenwire_audit" in blocks[name], idle  # its hooks, though inactive
    env["KRAKENWIRE_AUDIT_PATH"] = str(tmp_path / "audit.jsonl")
    env["KRAKENWIRE_PROMETHEUS_PORT"] = "0"  # likewise the metrics plugin (never started here)
    listed = _run([kw_bin, "plugins"], **kw).stdout
    for name in ("risk", "audit", "prometheus"):
        line = re.compile(
            rf"^{name}  krakenwire_{name}(:from_env)? \(krakenwire-{name} {VERSION}\)$"
        )
        assert any(line.match(x) for x in listed.splitlines()), listed
    assert listed.count("status: active") == 3, listed
    demo = _run([kw_bin, "demo", "--orders", "30", "--rounds", "1", "--samples", "20"], **kw)
    assert "OK: every order placed is confirmed cancelled" in demo.stdout
    bench = subprocess.run([kw_bin, "bench"], capture_output=True, text=True, timeout=60, **kw)
    assert (
        bench.returncode == 2 and "make bench" in bench.stderr and "Traceback" not in bench.stderr
    )
    sim = subprocess.Popen(
        [str(venv), "-m", "krakenwire.sim", "--json"], stdout=subprocess.PIPE, text=True, **kw
    )
    try:
        info = json.loads(sim.stdout.readline())
        r = subprocess.run(
            [kw_bin, "cancel", "--url", info["url"], "--token", info["token"], "A", "B"],
            capture_output=True,
            text=True,
            timeout=60,
            **kw,
        )
        assert r.returncode == 4, r.stderr  # neither id was open: fewer cancelled than asked
        assert json.loads(r.stdout)["outcome"] == "partial"
    finally:
        sim.terminate()
        sim.wait(10)
        sim.stdout.close()


def test_sdist_tests_run_against_the_installed_wheels(
    dists: Path, venv: Path, tmp_path: Path
) -> None:
    """Each sdist carries the tests with everything they import (conftest, helpers, docs)."""
    env = _clean_env()
    for sdist in sorted(dists.glob("*.tar.gz")):
        with tarfile.open(sdist) as t:
            t.extractall(tmp_path, filter="data")
        top = tmp_path / sdist.name.removesuffix(".tar.gz")
        if sdist.name.startswith("krakenwire-"):
            # Every test module imports; the sans-IO and CLI-input tests run (a few seconds).
            _run([str(venv), "-m", "pytest", "-q", "--collect-only", "tests"], cwd=top, env=env)
            args = ["tests/protocol", "tests/test_cli.py", "-k", "protocol or bad_input"]
        else:
            args = ["tests"]
        r = _run(
            [str(venv), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *args],
            cwd=top,
            env=env,
        )
        assert " passed" in r.stdout, r.stdout
