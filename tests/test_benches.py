"""Benchmarks cannot rot silently: every ``scripts/bench_*.py`` has a ``--smoke`` run and ``scripts/test.sh``
(what CI runs) runs each one after pytest. The smoke itself is not run here (it takes half a minute); timings
are never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def test_every_bench_has_a_smoke_run_by_test_sh():
    benches = sorted(SCRIPTS.glob("bench_*.py"))
    assert benches
    for bench in benches:
        result = subprocess.run(
            [sys.executable, str(bench), "--help"], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert "--smoke" in result.stdout, f"{bench.name} has no --smoke"
    test_sh = (SCRIPTS / "test.sh").read_text()
    loop = test_sh.index("for bench in scripts/bench_*.py; do")
    assert '.venv/bin/python "$bench" --smoke' in test_sh[loop:]
    assert test_sh.index(".venv/bin/python -m pytest") < loop  # after the suite, in the main venv
    assert "exit 1" in test_sh[loop : test_sh.index("done", loop)]  # a failing smoke fails the script
