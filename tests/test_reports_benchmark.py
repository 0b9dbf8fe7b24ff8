"""The report benchmark still runs: a tiny version of it, with no timing asserted."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "report_speed.py"


def test_report_benchmark_smoke_run() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines if line.startswith(("month", "year"))] == [
        "month",
        "year",
    ]
    assert sum("s added" in line for line in lines) == 2  # what the evidence adds, per scenario
