"""Charts of `ccm report` kept between runs, so a report of unchanged figures draws nothing.

Importing matplotlib and drawing three charts is most of a report of a month whose judgements
are kept; the charts depend only on a few figures each (minutes per patient, totals per month,
minutes per staff member). What to keep: each chart under the key of exactly what it is drawn
from and matplotlib's installed files (store/cache.py keys, reads and writes it; the charts name
staff members, so they stay with the other caches).
"""

from collections.abc import Callable
from pathlib import Path

from ccmcli.store import cache

KEEP = 60  # charts kept per data directory (a few reports' worth), newest last


def kept(root: Path | None, name: str, data: tuple, draw: Callable[..., tuple]) -> tuple:
    """`draw(*data)` (the chart's fields, plain strings), or what it gave before for the same
    `name` and `data`."""
    if root is None or not cache.enabled():
        return draw(*data)
    key = cache.key("chart", name, data, cache.library_key("matplotlib"))
    shelf = cache.Shelf(root, "charts", KEEP)
    hit = shelf.get(key)
    if isinstance(hit, tuple):
        return hit
    chart = tuple(draw(*data))
    shelf.put(key, chart)
    shelf.save()
    return chart
