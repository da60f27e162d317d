"""The docs site builds with warnings as errors (``make docs``), its API pages come from the
docstrings, and docs/cli.md documents every command, option and exit code of the parser."""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from krakenwire import cli

ROOT = Path(__file__).resolve().parent.parent
CLI_DOC = ROOT / "docs" / "cli.md"
CHECK = ROOT / "docs" / "browser_check.py"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs site, built once for this module with warnings as errors."""
    missing = [m for m in ("mkdocs", "mkdocstrings", "material") if not importlib.util.find_spec(m)]
    if missing:
        pytest.skip(f"docs tooling not installed ({', '.join(missing)}): pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("docs") / "site"
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert r.returncode == 0, r.stderr
    return out


def test_mkdocs_build_strict(site: Path) -> None:
    for page in ("index", "cli", "examples", "simulator", "plugins", "hooks", "bench", "api"):
        assert (site / page / "index.html").is_file() or page == "index", page
    api = (site / "api" / "index.html").read_text()
    for name in ("krakenwire.connect", "krakenwire.Client", "krakenwire.sim.SimConfig"):
        assert f'id="{name}"' in api, f"{name} missing from the API page"
    examples = (site / "examples" / "index.html").read_text()
    assert "keep_cancel_after" in examples  # the scripts themselves are included


def _public_names() -> list[str]:
    import krakenwire
    import krakenwire.sim

    names = [f"krakenwire.{n}" for n in krakenwire.__all__]
    names += [f"krakenwire.sim.{n}" for n in krakenwire.sim.__all__]
    names += [f"krakenwire.Client.{n}" for n in dir(krakenwire.Client) if not n.startswith("_")]
    for plugin in ("krakenwire_risk", "krakenwire_audit", "krakenwire_prometheus"):
        if importlib.util.find_spec(plugin) is not None:
            mod = importlib.import_module(plugin)
            names += [f"{plugin}.{n}" for n in mod.__all__]
    return names


# Internal methods of a public class (the client keeps the view with them): not for users.
PRIVATE = ["krakenwire.OpenOrders." + n for n in ("apply", "reset", "note_placed", "stream_ready")]
RAW_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|ref|const):(?:`|<code>)")


def test_api_reference_has_every_public_name_and_no_private_one(site: Path) -> None:
    api = (site / "api" / "index.html").read_text()
    ids = set(re.findall(r'id="([^"]+)"', api))
    missing = [n for n in _public_names() if n not in ids]
    assert not missing, f"public names missing from the API reference: {missing}"
    shown = [n for n in PRIVATE if n in ids]
    assert not shown, f"internal names in the API reference: {shown}"


def test_no_page_shows_a_raw_sphinx_role(site: Path) -> None:
    found = {}
    for page in site.rglob("*.html"):
        hits = RAW_ROLE.findall(page.read_text())
        if hits:
            found[str(page.relative_to(site))] = len(hits)
    assert not found, f"raw Sphinx roles (mkdocstrings does not render them): {found}"


def test_plugin_guide_numbers_its_two_ways_1_2(site: Path) -> None:
    html = (site / "plugins" / "index.html").read_text()
    section = html[html.index('id="two-ways-to-load-a-plugin"') : html.index('id="rules"')]
    assert section.count("<ol") == 1, "the numbered list restarts (a block breaks it)"
    assert "Pass it to <code>connect</code>" in section and "Install it with a" in section


def _browser_check():
    path = ROOT / "docs" / "browser_check.py"
    spec = importlib.util.spec_from_file_location("browser_check", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_docs_check_in_a_real_browser(site: Path, tmp_path: Path) -> None:
    """`make docs-check`: every page loads in headless Chromium without a console error, with
    text, every internal link and anchor resolves, no code block is cut at 1280 px."""
    check = _browser_check()
    if check.find_browser() is None:
        pytest.skip(
            "no Chromium: apt-get install chromium (or set $CHROMIUM); `make docs-check` "
            "installs it when run as root"
        )
    shot = tmp_path / "index.png"
    r = subprocess.run(
        [sys.executable, str(CHECK), str(site), "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 problem(s)" in r.stdout and shot.stat().st_size > 10_000
    # The check itself finds what it is for: a broken link, a missing anchor, an empty page,
    # a console error.
    bad = tmp_path / "bad"
    (bad / "two").mkdir(parents=True)
    (bad / "index.html").write_text(
        "<html><body><article><p>" + "words " * 20 + "</p>"
        '<a href="missing/">a</a> <a href="two/#nowhere">b</a>'
        "<script>console.error('boom')</script></article></body></html>"
    )
    (bad / "two" / "index.html").write_text("<html><body><article></article></body></html>")
    r = subprocess.run(
        [sys.executable, str(CHECK), str(bad)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 1, r.stdout + r.stderr
    for problem in ("broken link to /missing/", "anchor /two/#nowhere", "console error: boom"):
        assert problem in r.stdout, r.stdout
    assert "/two/: empty page" in r.stdout


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
