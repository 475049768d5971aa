"""Fixtures for the browser tests: chromium, one JupyterLab server, a fresh page per test.

Without Debian's chromium (or without the ``playwright`` package) every browser test is
skipped with a reason that says what to install, and the end of the run repeats it in
a banner, so a green run without browser coverage cannot go unnoticed.

On a failing test a full-page screenshot is saved under ``tests/browser/screenshots/``
(or ``$DLCOURSE_SCREENSHOT_DIR``), and its path is added to the failure report.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import harness

SCREENSHOT_DIR = Path(
    os.environ.get("DLCOURSE_SCREENSHOT_DIR", Path(__file__).parent / "screenshots")
)
_skip_reasons: list[str] = []


def _skip_loudly(reason: str) -> None:
    """Skip the test, and remember the reason for the end-of-run banner."""
    if reason not in _skip_reasons:
        _skip_reasons.append(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's chromium; skips the browser tests loudly when it is missing."""
    path = harness.find_chromium()
    if path is None:
        _skip_loudly(
            "BROWSER TESTS SKIPPED: no executable chromium at "
            f"{' or '.join(harness.chromium_candidates())}. "
            f"Install Debian's chromium with: {harness.INSTALL_HINT} "
            "(do not run `playwright install`)"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    """Chromium launched through Playwright's bundled driver; closed at session end."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_loudly(
            "BROWSER TESTS SKIPPED: the `playwright` Python package is missing "
            "(pip install playwright; no browser download is needed)"
        )
    manager = sync_playwright().start()
    try:
        chromium = manager.chromium.launch(
            executable_path=chromium_path, args=harness.CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        manager.stop()


@pytest.fixture(scope="session")
def jupyter_server(
    browser: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[harness.JupyterServer]:
    """One ``jupyter lab`` on loopback for the session; stopped with all its kernels.

    It depends on ``browser`` so that a missing chromium skips before a server starts.
    """
    server = harness.start_jupyter(tmp_path_factory.mktemp("jupyter"))
    try:
        yield server
    finally:
        harness.stop_jupyter(server)


@pytest.fixture
def page(browser: object, jupyter_server: harness.JupyterServer) -> Iterator[object]:
    """A fresh browser context and page per test (no state shared between tests)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(harness.REACT_S * 1000)
    try:
        yield context.new_page()
    finally:
        context.close()
        jupyter_server.shutdown_kernels()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """On a failure while a page is open, save a screenshot and name it in the report."""
    outcome = yield
    report = outcome.get_result()
    browser_page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if not report.failed or browser_page is None or report.when not in ("setup", "call"):
        return
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / (re.sub(r"[^\w.-]+", "_", item.nodeid) + ".png")
    try:
        browser_page.screenshot(path=str(path), full_page=True)
        message = f"screenshot saved to {path}"
    except Exception as error:  # the page may be what broke; say so instead
        message = f"could not save a screenshot to {path}: {error}"
    report.sections.append(("browser screenshot", message))
    server = item.funcargs.get("jupyter_server")
    if server is not None:
        report.sections.append(("jupyter lab log (tail)", server.log_tail()))


def pytest_terminal_summary(terminalreporter) -> None:
    """Repeat the skip reason in a banner at the very end of the run."""
    for reason in _skip_reasons:
        terminalreporter.write_sep("!", "browser tests did not run", red=True, bold=True)
        terminalreporter.write_line(reason, red=True, bold=True)
