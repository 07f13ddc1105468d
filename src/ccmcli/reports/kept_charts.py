"""Charts of `ccm report` kept between runs, so a report of unchanged figures draws nothing.

Importing matplotlib and drawing three charts is most of a report of a month whose judgements
are kept; the charts depend only on a few figures each (minutes per patient, totals per month,
minutes per staff member). A chart is kept under a hash of exactly what it is drawn from, ccm's
code and matplotlib's installed files, beside ccm's other caches (inside the data directory,
private to its user; the charts name staff members). Deleting it changes nothing but speed;
CCM_NO_CACHE turns it off.
"""

import hashlib
from collections.abc import Callable
from pathlib import Path

from ccmcli.store import cache

KEEP = 60  # charts kept per data directory (a few reports' worth), newest last


def kept(root: Path | None, key: str, data: tuple, draw: Callable[..., tuple]) -> tuple:
    """`draw(*data)` (the chart's fields, plain strings), or what it gave before for the same
    `key` and `data`."""
    if root is None or not cache.enabled():
        return draw(*data)
    digest = hashlib.sha256(repr((key, data, _code())).encode()).hexdigest()
    store = _load(root)
    hit = store.get(digest)
    if isinstance(hit, tuple):
        return hit
    chart = draw(*data)
    store.pop(digest, None)
    store[digest] = tuple(chart)
    cache.write_value(cache.cache_file(root, "charts"), dict(list(store.items())[-KEEP:]))
    return chart


def _code() -> str:
    """ccm's code and matplotlib's installed files (found without importing matplotlib)."""
    import importlib.util
    import os

    from ccmcli.reports.month_totals import code_key

    spec = importlib.util.find_spec("matplotlib")
    origin = spec.origin if spec else None
    try:
        st = os.stat(origin)  # type: ignore[arg-type]
        library = (origin, st.st_size, st.st_mtime_ns)
    except (OSError, TypeError):
        library = None
    return repr((code_key(), library))


def _load(root: Path) -> dict:
    stored = cache.read_value(cache.cache_file(root, "charts"))
    return stored if isinstance(stored, dict) else {}
