"""`carehome-share --self-test`, as the installer's CI runs it on a built bundle."""

import os
import subprocess
import sys


def test_self_test_passes_and_names_each_check() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run(
        [sys.executable, "-m", "carehome_share", "--self-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "self-test passed"
    checks = [line for line in lines if line.startswith("ok ")]
    for document in (
        "gp-access-report",
        "resident-history",
        "consent-register",
        "staff-list",
        "consent-form",
        "dpia-pack",
        "recovery-sheet",
    ):
        assert any(f"PDF {document}" in line for line in checks)
    assert any(line.startswith("ok   DOCX dpia-pack") for line in checks)
    assert any(line.startswith("ok   main window") for line in checks)
    assert not any(line.startswith("FAIL") for line in lines)
