"""Progress bars for long runs: on stderr, only on a terminal, once per item."""

import io
import sys

from ccmcli.cli.output import progress_step
from ccmcli.loader import load
from ccmcli.models.months import Month
from ccmcli.reports.practice_month import judge_month
from ccmcli.store.datadir import DataDir


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_step(5000, "judging patients", least=2000) is None


def test_no_bar_for_a_short_run(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert progress_step(10, "judging patients", least=2000) is None


def test_a_bar_on_a_terminal_is_stepped_to_its_end(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    step = progress_step(3, "audit packets")
    assert step is not None
    for _ in range(3):
        step()  # the bar stops itself at its total


def test_judging_a_month_steps_once_per_patient(clinic):
    practice = load(DataDir(clinic))
    steps = []
    report = judge_month(practice, Month(2026, 10), on_patient=lambda: steps.append(1))
    assert len(steps) == len(report.judgements) == len(practice.patients)
