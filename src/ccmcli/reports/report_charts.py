"""The report's charts, drawn once as static SVG by matplotlib and inlined in the page.

matplotlib is imported here only, inside the functions, so no other command pays for it. Each
chart comes back as an `<svg>` element with `role="img"`, a `<title>` and an `aria-label`
saying what it shows, its ids prefixed so that several charts can share one page, and no fixed
size (the page's CSS scales it to the screen or the paper).
"""

import io
import re
from dataclasses import dataclass

from ccmcli.reports.practice_report import PracticeReport, counted_minutes, thresholds

INK, MUTED, ACCENT, WARN = "#1f2933", "#6b7785", "#2f6f9f", "#b45309"
BIN_MINUTES = 5
MAX_STAFF_BARS = 30


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    title: str
    description: str  # the text alternative: what a reader who cannot see the chart needs
    svg: str


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(colors=INK, labelsize=9)
    ax.grid(axis="y", color="#d9dee3", linewidth=0.6)
    ax.set_axisbelow(True)


def _svg(fig, key: str, title: str, description: str) -> Chart:
    """Render `fig` and make its markup fit for an HTML page (see the module docstring)."""
    import matplotlib

    buf = io.StringIO()
    rc = {"svg.fonttype": "none", "svg.hashsalt": f"ccm-{key}", "font.size": 9}
    with matplotlib.rc_context(rc):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'(\bid=")', rf"\g<1>{key}-", text)
    text = re.sub(r'(url\(#|xlink:href="#|href="#)', rf"\g<1>{key}-", text)
    head_end = text.index(">") + 1
    head = re.sub(r'\s(width|height)="[^"]*"', "", text[:head_end])
    head = head.replace("<svg", f'<svg role="img" aria-labelledby="{key}-title" class="chart"', 1)
    title_el = f'<title id="{key}-title">{_escape(title)}: {_escape(description)}</title>'
    return Chart(key, title, description, head + title_el + text[head_end:])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def minutes_chart(report: PracticeReport) -> Chart:
    """Histogram of counted minutes per unblocked patient, 5-minute bins, with a line at each
    threshold of the programs seen: who sits just under a line is who can still earn a code."""
    minutes = [counted_minutes(j) for j in report.judgements if not j.blockers]
    top = max([*minutes, 60]) + BIN_MINUTES
    top -= top % BIN_MINUTES
    fig, ax = _figure(7.2, 3.4)
    _style(ax)
    edges = list(range(0, top + BIN_MINUTES + 1, BIN_MINUTES))
    ax.hist(minutes, bins=edges, color=ACCENT, edgecolor="white", linewidth=0.5)
    lines = thresholds(report, top)
    for at, _codes in lines:
        ax.axvline(at, color=WARN, linewidth=1, linestyle="--")
    codes_axis = ax.secondary_xaxis("top")
    codes_axis.set_xticks(
        [at for at, _ in lines], labels=["\n".join(_short(c) for c in codes) for _, codes in lines]
    )
    codes_axis.tick_params(labelsize=6.5, colors=WARN, length=0)  # fmt: skip
    ax.set_xlim(0, top + BIN_MINUTES)
    ax.set_xlabel("minutes that count this month (clinical staff + practitioner)", color=INK)
    ax.set_ylabel("patients", color=INK)
    ax.yaxis.get_major_locator().set_params(integer=True)
    where = ", ".join(f"{at} min ({' '.join(codes)})" for at, codes in lines)
    desc = (f"{len(minutes)} patients without blockers in {report.month}, by counted minutes in "
            f"{BIN_MINUTES}-minute bins; thresholds at {where or 'none'}")  # fmt: skip
    return _svg(fig, "minutes", "Minutes per patient against the thresholds", desc)


def _short(code: str) -> str:
    """`99439x2` stays; `99439x1` is written `99439`, as a claim line with one unit reads."""
    return code.removesuffix("x1")


def amount_chart(report: PracticeReport) -> Chart:
    """The amount billable per month over the report's months; an open month is hatched."""
    fig, ax = _figure(7.2, 3.0)
    _style(ax)
    labels = [f"{m.month.month:02d}\n{m.month.year}" for m in report.history]
    amounts = [m.amount for m in report.history]
    bars = ax.bar(labels, amounts, color=ACCENT, width=0.7)
    for bar, m in zip(bars, report.history, strict=True):
        if m.provisional:
            bar.set_hatch("//")
            bar.set_facecolor("#9cc0dc")
    ax.set_ylabel("amount ($)", color=INK)
    ax.tick_params(axis="x", labelsize=7)
    ax.bar_label(
        bars, labels=[f"{a:,.0f}" if a else "" for a in amounts], fontsize=7, color=MUTED, padding=2
    )
    ax.margins(y=0.15)
    first, last = report.history[0].month, report.history[-1].month
    peak = max(report.history, key=lambda m: m.amount)
    desc = (f"amount billable per month from {first} to {last}; {last}: "
            f"${report.history[-1].amount:,.2f}; highest {peak.month}: ${peak.amount:,.2f}")  # fmt: skip
    return _svg(fig, "amount", "Amount billable per month", desc)


def staff_chart(report: PracticeReport) -> Chart:
    """Horizontal bars of minutes per staff member, clinical staff and practitioner stacked;
    past MAX_STAFF_BARS people the rest are one bar (the table below lists everyone)."""
    rows = report.staff[:MAX_STAFF_BARS]
    rest = report.staff[MAX_STAFF_BARS:]
    names = [r.staff for r in rows]
    staff = [r.clinical_staff for r in rows]
    prac = [r.practitioner for r in rows]
    if rest:
        names.append(f"{len(rest)} others")
        staff.append(sum(r.clinical_staff for r in rest))
        prac.append(sum(r.practitioner for r in rest))
    fig, ax = _figure(7.2, 0.9 + 0.24 * max(len(names), 1))
    _style(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#d9dee3", linewidth=0.6)
    ax.barh(names, staff, color=ACCENT, label="clinical staff")
    ax.barh(names, prac, left=staff, color=WARN, label="practitioner")
    ax.invert_yaxis()
    ax.set_xlabel("minutes logged this month", color=INK)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    top = ", ".join(f"{r.staff} {r.minutes} min" for r in report.staff[:3])
    desc = (f"minutes logged in {report.month} by {len(report.staff)} staff members"
            + (f"; most: {top}" if top else ""))  # fmt: skip
    return _svg(fig, "staff", "Minutes per staff member", desc)


def all_charts(report: PracticeReport) -> dict[str, Chart]:
    charts = (minutes_chart(report), amount_chart(report), staff_chart(report))
    return {c.key: c for c in charts}
