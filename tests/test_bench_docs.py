"""The README's bench block and bench/latest.md show one run, the same one (both are written
by the same `make bench`)."""

import re
from pathlib import Path

from bench import report

ROOT = Path(__file__).resolve().parent.parent


def _run_of(text: str) -> tuple[str, str]:
    m = re.search(r"(\d{4}-\d\d-\d\dT[\d:]+\+00:00), commit ([0-9a-f]+|nogit)", text)
    assert m, "no run date and commit found"
    return m.group(1), m.group(2)


def test_readme_block_is_the_run_in_latest_md():
    readme = (ROOT / "README.md").read_text()
    begin, end = readme.find(report.README_BEGIN), readme.find(report.README_END)
    assert 0 <= begin < end, "README.md has no bench block"
    block = readme[begin:end]
    latest = (ROOT / "bench" / "latest.md").read_text()
    assert _run_of(block) == _run_of(latest)
    # The block's figures are copied from the same run, not retyped.
    rows = report_lines(block)
    assert len(rows) > 10 and all(row in latest.splitlines() for row in rows)


def report_lines(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.startswith("| ")]


def test_update_readme_replaces_only_the_block(tmp_path):
    p = tmp_path / "README.md"
    p.write_text(f"before\n{report.README_BEGIN}\nold\n{report.README_END}\nafter\n")
    s = {
        "date": "2026-01-01T00:00:00+00:00",
        "commit": "abc1234",
        "mode": "full",
        "scenarios": {},
        "targets": [],
    }
    assert report.update_readme(p, s)
    text = p.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert "commit abc1234" in text
    p.write_text("no markers\n")
    assert not report.update_readme(p, s)
