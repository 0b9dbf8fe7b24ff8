"""The group-scale benchmarks still run: each one's main at a tiny size, with no timing asserted
(the figures are in benchmarks/RESULTS.md)."""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import access_decision  # noqa: E402
import cold_start  # noqa: E402
import demo_scale  # noqa: E402
import login  # noqa: E402
import search_history  # noqa: E402
import unlock  # noqa: E402
import verify_audit  # noqa: E402

TINY = ["--residents", "30", "--sessions", "300"]


def test_access_decision(capsys: pytest.CaptureFixture[str]) -> None:
    access_decision.main([*TINY, "--calls", "20"])
    assert "encrypted / plain" in capsys.readouterr().out


def test_unlock(capsys: pytest.CaptureFixture[str]) -> None:
    unlock.main(["--opens", "3"])
    out = capsys.readouterr().out
    assert "raw key, SQLCipher only" in out and "key slot, Vault.open_as" in out


def test_login(capsys: pytest.CaptureFixture[str]) -> None:
    login.main(["--runs", "1", "--windows", "1"])  # at the tests' argon2id cost (conftest)
    out = capsys.readouterr().out
    assert "Log in to main window shown" in out and "unknown username" in out


def test_search_and_history(capsys: pytest.CaptureFixture[str]) -> None:
    search_history.main([*TINY, "--history-sessions", "50", "--repeats", "2"])
    out = capsys.readouterr().out
    assert "search nothing typed" in out and "history read-model" in out


def test_verify(capsys: pytest.CaptureFixture[str]) -> None:
    verify_audit.main(TINY)
    out = capsys.readouterr().out
    assert "intact" in out and "chain check of 1,000,000 entries" in out


def test_demo_scale(capsys: pytest.CaptureFixture[str]) -> None:
    demo_scale.main(TINY)
    assert "audit chain of" in capsys.readouterr().out


def test_cold_start(capsys: pytest.CaptureFixture[str]) -> None:
    cold_start.main(["--runs", "1"])
    assert "login window shown" in capsys.readouterr().out
