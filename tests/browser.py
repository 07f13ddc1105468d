"""A real headless Chromium for tests of the HTML files ccm writes (report, audit packet).

The browser is the system's (Debian package `chromium`), driven by Playwright; Playwright's own
browser downloads are never used. Locally a test that needs the browser is skipped, saying what
is missing; in CI (`CI` set) it runs anyway and fails, so a missing browser cannot pass unseen.
"""

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _find_chromium() -> str | None:
    """$CCM_CHROMIUM, else the first Chromium on PATH, else Debian's /usr/bin/chromium."""
    chosen = os.environ.get("CCM_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def _have_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


CHROMIUM: str | None = _find_chromium()
PLAYWRIGHT = _have_playwright()
IN_CI = bool(os.environ.get("CI"))


def _missing() -> str | None:
    wanted = []
    if CHROMIUM is None:
        wanted.append("no Chromium (apt-get install chromium, or set CCM_CHROMIUM)")
    if not PLAYWRIGHT:
        wanted.append("no playwright (pip install -e '.[test]')")
    return "; ".join(wanted) or None


MISSING = _missing()
needs_browser = pytest.mark.skipif(
    MISSING is not None and not IN_CI,
    reason=f"browser test skipped: {MISSING} (in CI, with CI set, it fails instead)",
)


@dataclass
class BrowserPage:
    """The loaded page, the console's errors and every request that left the file system."""

    page: object
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def _local(url: str) -> bool:
    return url.startswith(("file:", "data:", "about:"))


@contextlib.contextmanager
def browser_page(path: Path, width: int = 1200, height: int = 900) -> Iterator[BrowserPage]:
    """`path` opened from file:// in a fresh headless Chromium at width x height CSS pixels.

    Requests to anything but file: and data: are recorded and refused (the page must need no
    network); console errors and uncaught script errors are recorded."""
    if MISSING is not None:
        pytest.fail(f"cannot open a browser: {MISSING}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            seen = BrowserPage(page)
            page.on("console", lambda m: m.type == "error" and seen.console_errors.append(m.text))
            page.on("pageerror", lambda exc: seen.console_errors.append(str(exc)))
            page.on("request", lambda r: _local(r.url) or seen.requests.append(r.url))
            context.route(
                "**/*",
                lambda route: route.continue_() if _local(route.request.url) else route.abort(),
            )
            page.goto(Path(path).resolve().as_uri(), wait_until="load")
            yield seen
        finally:
            browser.close()
