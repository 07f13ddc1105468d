"""A real headless Chromium (the system package) driven by Playwright, for the HTML ccm writes.

Never downloads a browser: the system binary is launched by path. Without Chromium or Playwright
the tests that need them are skipped with the reason, except on CI (`CI` set), where a missing
browser is a failure, so a green CI run always means the pages were opened.
"""

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM: str | None = next(
    (found for name in ("chromium", "chromium-browser", "chromium-headless-shell")
     if (found := shutil.which(name))),
    None,
)  # fmt: skip


def _playwright_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


def _why_not() -> str | None:
    if CHROMIUM is None:
        return "no chromium on PATH (Debian package `chromium`)"
    return _playwright_missing()


_REASON = _why_not()
needs_browser = pytest.mark.skipif(
    _REASON is not None and not os.environ.get("CI"),
    reason=f"needs a headless browser: {_REASON}",
)


@dataclass
class LoadedPage:
    """The loaded page, and what it did while loading: console errors and network requests."""

    page: object
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@contextlib.contextmanager
def browser_page(path: Path, width: int = 1200, height: int = 900) -> Iterator[LoadedPage]:
    """Open `path` (file://) in headless Chromium; yields it once loaded. Every request that is
    not for a file: or data: URL is recorded (and aborted, so a test never reaches the network)."""
    if _REASON is not None:
        pytest.fail(f"cannot open a browser: {_REASON}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            loaded = LoadedPage(page)
            page.on("console", lambda m: loaded.console_errors.append(m.text) if m.type == "error" else None)  # fmt: skip
            page.on("pageerror", lambda exc: loaded.console_errors.append(str(exc)))
            page.route("**/*", lambda route: _allow_local(route, loaded.requests))
            page.goto(path.resolve().as_uri(), wait_until="load")
            yield loaded
        finally:
            browser.close()


def _allow_local(route, seen: list[str]) -> None:
    url = route.request.url
    if url.startswith(("file:", "data:")):
        route.continue_()
    else:
        seen.append(url)
        route.abort()
