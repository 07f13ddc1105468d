"""The audit packet as self-contained HTML or as Markdown, from Jinja2 templates (contract 9).

Names, notes and every other field typed by people are untrusted text: HTML is rendered with
autoescaping on, and carries a Content-Security-Policy that allows no script and no request, so
even a mistake in a template cannot make the page load or run anything. Markdown escapes the
characters that would make a viewer read text as markup. Jinja2 is imported here only, and this
module only by `ccm audit`.
"""

import re
from functools import cache

from ccmcli.reports.wording import codes_text

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*[]<>|&#!~"} | {"\r": " ", "\n": " "})
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md(value: object) -> str:
    """Untrusted text as literal Markdown: markup characters escaped, line breaks flattened.
    An underscore inside a word (`clinical_staff`) is never emphasis, so it stays as it is."""
    if value is None:
        return ""
    return _EMPHASIS_UNDERSCORE.sub(r"\\_", str(value).translate(_MD_SPECIAL))


def _or_dash(value: object) -> object:
    return "-" if value is None or value == "" else value


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _instant(value: object):
    """`2026-10-02T14:10:00-05:00` as its date and its time, each whole: the pair may fold
    between them in a narrow column."""
    from markupsafe import Markup, escape

    if not value:
        return "-"
    day, _, clock = str(value).partition("T")
    if not clock:
        return Markup(f"<time>{escape(day)}</time>")
    return Markup(f"<time>{escape(day)}</time> <time>{escape(clock)}</time>")


def _soft(value: object):
    """`care_coordination` may fold after its underscores, as words fold at spaces."""
    from markupsafe import Markup, escape

    if value is None or value == "":
        return "-"
    return Markup(str(escape(value)).replace("_", "_<wbr>"))


def _codes(codes: list[dict]) -> str:
    return codes_text([(c["code"], c["units"]) for c in codes]) or "none"


@cache
def _environment(kind: str):
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("ccmcli.reports", "templates"),
        autoescape=kind == "html",
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(md=md, dash=_or_dash, money=_money, codes=_codes, instant=_instant,
                       soft=_soft)  # fmt: skip
    return env


# A word that holds a digit and a hyphen or slash: an entry id, a date, a rule id (`T-01`), a
# file and line. A browser may break a line after a hyphen; these are kept on one line.
_WHOLE = re.compile(r"(?<![\w.:/+-])(?=[\w.:/+-]*\d)(?=[\w.:/+-]*[-/])[\w.:/+-]+")
_TEXT = re.compile(r">([^<]+)<")


def keep_whole(html: str) -> str:
    """The page's text with every id, date and rule id in `<span class="nb">` (never broken):
    only text between tags of the body is touched, after escaping, so no markup is added
    where a person's text was."""
    head, sep, body = html.partition("<body>")
    nb = lambda m: f'<span class="nb">{m[0]}</span>'  # noqa: E731
    return head + sep + _TEXT.sub(lambda m: ">" + _WHOLE.sub(nb, m[1]) + "<", body)


def render_html(body: dict) -> str:
    return keep_whole(_environment("html").get_template("audit.html.j2").render(p=body))


def render_markdown(body: dict) -> str:
    return _environment("md").get_template("audit.md.j2").render(p=body)


def render_index(month: str, practice: str, rows: list[dict], skipped: list[str], generated_at: str) -> str:  # fmt: skip
    return keep_whole(
        _environment("html")
        .get_template("audit_index.html.j2")
        .render(
            month=month, practice=practice, rows=rows, skipped=skipped, generated_at=generated_at
        )
    )
