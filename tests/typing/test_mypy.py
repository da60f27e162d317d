"""mypy (strict) reports every deliberate mistake in ``mistakes.py``, on its line, and nothing
else: the public API's types catch what a user gets wrong before anything runs."""

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

HERE = Path(__file__).parent


def test_every_planted_mistake_is_reported():
    src = HERE / "mistakes.py"
    expected = {
        n for n, line in enumerate(src.read_text().splitlines(), 1) if line.rstrip().endswith("# E")
    }
    out, err, _ = api.run(
        ["--strict", "--no-incremental", "--cache-dir=/dev/null", "--show-error-codes", str(src)]
    )
    reported = set()
    for line in out.splitlines():
        parts = line.split(":")
        if len(parts) > 2 and parts[0].endswith("mistakes.py") and ": error:" in line:
            reported.add(int(parts[1]))
    assert expected, "no mistakes planted"
    assert reported == expected, (sorted(expected - reported), sorted(reported - expected), out)
