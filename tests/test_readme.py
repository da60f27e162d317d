"""Every Python block in README.md (and in the docs pages that show whole programs) runs as it
is, in a fresh interpreter (no undefined names, no network: each one talks to the simulator),
and every relative link of the README points at a file in the repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)


PAGES = [README, ROOT / "docs" / "index.md", ROOT / "docs" / "simulator.md"]


def _blocks() -> list[tuple[str, str]]:
    return [
        (f"{p.name}#{i}", code)
        for p in PAGES
        for i, code in enumerate(BLOCK.findall(p.read_text()))
    ]


def test_there_are_python_blocks():
    assert len([b for b in _blocks() if b[0].startswith("README")]) >= 4


@pytest.mark.parametrize("where, code", _blocks(), ids=[b[0] for b in _blocks()])
def test_python_block_runs(where, code, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN")}
    env["KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert r.returncode == 0, f"{where} failed:\n{code}\n{r.stderr}"


def test_relative_links_resolve():
    text = README.read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" in target:
            continue
        assert (ROOT / target).exists(), f"README links to {target}, not in the repository"
    assert "../" not in text and "DESIGN.md" not in text


JSON_BLOCK = re.compile(r"^```json\n(.*?)^```$", re.S | re.M)
# Fields that differ from run to run (ids, timings); the rest must be what the product prints.
_VARYING = {"req_id", "ids", "orders", "time_in", "time_out", "latency_us"}


def _cancel_samples() -> list[tuple[str, dict]]:
    import json

    out = []
    for page in (README, ROOT / "docs" / "simulator.md"):
        for block in JSON_BLOCK.findall(page.read_text()):
            sample = json.loads(block)
            if sample.get("method") == "batch_cancel":
                out.append((page.name, sample))
    return out


def test_cancel_samples_are_what_the_default_simulator_prints():
    """The README's and the simulator guide's `krakenwire cancel` lines (one open order and
    one id that is not open) are what the command prints against the default simulator."""
    import json

    samples = _cancel_samples()
    assert {name for name, _ in samples} == {"README.md", "simulator.md"}
    sim = subprocess.Popen(
        [sys.executable, "-m", "krakenwire.sim", "--json", "--orders", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(sim.stdout.readline())
        conn = ["--url", info["url"], "--token", info["token"]]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN")}
        run = [sys.executable, "-m", "krakenwire"]
        orders = subprocess.run([*run, "orders", *conn], capture_output=True, text=True, env=env)
        (open_id,) = [json.loads(x)["order_id"] for x in orders.stdout.splitlines()]
        gone = "OGONE0-XXXXX-XXXXXX"
        r = subprocess.run(
            [*run, "cancel", *conn, open_id, gone], capture_output=True, text=True, env=env
        )
    finally:
        sim.terminate()
        sim.wait(10)
        sim.stdout.close()
    assert r.returncode == 4, r.stderr
    line = json.loads(r.stdout)
    for name, sample in samples:
        assert list(sample) == list(line), name
        for key in set(line) - _VARYING:
            assert sample[key] == line[key], (name, key, sample[key], line[key])
        assert sample["ids"][1] == gone and line["ids"] == [open_id, gone], name
        for key in _VARYING:
            assert type(sample[key]) is type(line[key]), (name, key)


def test_readme_simulator_block_prints_the_status_it_just_set(tmp_path):
    (block,) = [b for b in BLOCK.findall(README.read_text()) if "set_system(" in b]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN")}
    env["KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    run = [sys.executable, "-c", block]
    r = subprocess.run(run, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["cancel_only", "100"]


def test_install_instructions_need_no_package_index():
    """krakenwire is not on an index: the install blocks use a checkout or `make dist`."""
    for page in (README, ROOT / "docs" / "index.md"):
        text = page.read_text()
        install = text[text.index("## Install") :]
        install = install[: install.index("\n## ", 4)]
        assert "pip install ." in install and "make dist" in install, page.name
        assert not re.search(r"pip install '?krakenwire\b", install), page.name
