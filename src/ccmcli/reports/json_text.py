"""JSON as ccm writes it: one encoder for every item, and items it encoded before.

`ccm check --format json` keeps each patient's encoded judgement between runs (judged_lines.py);
a kept line must be the very text the encoder would write now, so both use this one encoder.
"""

import json

encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


class Encoded(list):
    """Items that `encode` wrote before (kept between runs): written out as they are."""

    __slots__ = ()
