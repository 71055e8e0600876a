"""The whole suite's rules (docs/testing.md): hypothesis profiles and CI's skip rule.

- The hypothesis profile is loaded here, before any test module is imported, so the example
  counts a module computes at import (``tiers.examples``) follow it: ``dev`` by default, ``ci``
  under ``EACONTROL_CI=1``, any registered one with ``HYPOTHESIS_PROFILE=NAME``.
- Under ``EACONTROL_CI=1`` a skipped test fails unless its reason starts with
  :data:`HARDWARE`: in CI every dependency is installed (``.[test,plot]``) and the platform is
  POSIX, so the only thing a run may lack is a device on the bench.
- Every module of the project is imported once collection is done, before the first test:
  Hypothesis (since 6.131) also draws literals found in the project's *loaded* modules, so
  without this a derandomized property would see different examples depending on which tests
  ran before it in the same process (e.g. the stateful host run: 15,404 steps alone, 15,182
  after a module that imports ``eacontrol.profiles``). The collected test modules count too, so
  the same selection of tests (the whole suite in CI: 14,741 steps in every run) gives the same
  examples, and a subset may give others.
- Every test has its own ``XDG_CONFIG_HOME`` (an empty temporary folder), so the pairing keys
  a test stores (``eactl pair``, ``pair_port``) are its own, ``eactl`` subprocesses it starts
  find them, and no test reads or writes the keys in the real home.
- What tests measured for the log (``run_report.sections``: the fault matrix, the stateful
  run's step count) is printed in the terminal summary, gathered from every xdist worker.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Generator

import pytest
from run_report import WORKER_KEY, merge, sections
from tiers import in_ci, load_profile

HARDWARE = "hardware:"
"""How a skip reason that names absent hardware starts; the only skips CI allows."""

PROFILE = load_profile()


PROJECT_PACKAGES = ("eacontrol", "firmware_protocol", "simulator")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Load the whole project, so Hypothesis's pool of local constants is fixed for the run."""
    for name in PROJECT_PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not module.name.endswith("__main__"):  # a command, run on import
                importlib.import_module(module.name)


def pytest_report_header(config: pytest.Config) -> str:
    rule = f"skips fail unless the reason starts with {HARDWARE!r}" if in_ci() else "skips allowed"
    return f"eacontrol tiers: hypothesis profile {PROFILE!r}; EACONTROL_CI={int(in_ci())}: {rule}"


def _skip_reason(longrepr: object) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _refused(reason: str) -> str | None:
    """Why CI does not accept a skip with this reason, or None if it does."""
    if reason.startswith(HARDWARE):
        return None
    return (
        f"EACONTROL_CI=1: skipped for a reason that names no absent hardware: {reason!r}. In CI "
        f"every extra is installed, so only a missing device may skip a test (a reason starting "
        f"with {HARDWARE!r}); install what the test needs or fix the condition."
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        refused = _refused(_skip_reason(report.longrepr))
        if refused is not None:
            report.outcome = "failed"
            report.longrepr = refused
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if in_ci() and report.skipped:
        refused = _refused(_skip_reason(report.longrepr))
        if refused is not None:
            report.outcome = "failed"
            report.longrepr = refused
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: hand the sections to the controller
        workeroutput[WORKER_KEY] = sections(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    output: dict[str, object] = getattr(node, "workeroutput", {})
    report = output.get(WORKER_KEY)
    if isinstance(report, dict):  # a table split across workers is merged (run_report.merge)
        worker = getattr(node, "gateway", None)
        name = getattr(worker, "id", "worker")
        merged = sections(config)
        for title, lines in report.items():
            joined = merge(merged[title], lines) if title in merged else lines
            if joined is None:  # not one table: each worker's copy under its own title
                merged[f"{title} [{name}]"] = lines
            else:
                merged[title] = joined


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for title, lines in sections(terminalreporter.config).items():
        terminalreporter.write_sep("=", title)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def _own_key_store(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This test's pairing keys live in a folder of its own (see the module's docstring)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
