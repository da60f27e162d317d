"""The docs site builds with warnings as errors (``make docs``), its API pages come from the
docstrings, and docs/cli.md documents every command, option and exit code of the parser."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from krakenwire import cli

ROOT = Path(__file__).resolve().parent.parent
CLI_DOC = ROOT / "docs" / "cli.md"


def test_mkdocs_build_strict(tmp_path):
    missing = [m for m in ("mkdocs", "mkdocstrings", "material") if not importlib.util.find_spec(m)]
    if missing:
        pytest.skip(f"docs tooling not installed ({', '.join(missing)}): pip install -e '.[docs]'")
    site = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert r.returncode == 0, r.stderr
    for page in ("index", "cli", "examples", "simulator", "plugins", "hooks", "bench", "api"):
        assert (site / page / "index.html").is_file() or page == "index", page
    api = (site / "api" / "index.html").read_text()
    for name in ("krakenwire.connect", "krakenwire.Client", "krakenwire.sim.SimConfig"):
        assert f'id="{name}"' in api, f"{name} missing from the API page"
    examples = (site / "examples" / "index.html").read_text()
    assert "keep_cancel_after" in examples  # the scripts themselves are included


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    root = cli.build_parser()
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_cli_page_documents_every_command_and_option():
    text = CLI_DOC.read_text()
    for name, parser in _subparsers().items():
        assert f"krakenwire {name}" in text, f"docs/cli.md lacks `krakenwire {name}`"
        for action in parser._actions:
            for opt in action.option_strings:
                if opt not in ("-h", "--help"):
                    assert f"{opt}" in text, f"docs/cli.md lacks {name} {opt}"
    for code in cli.EXIT_CODES:
        assert f"| `{code}` |" in text, f"docs/cli.md lacks exit code {code}"
