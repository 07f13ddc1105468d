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
from ccmcli.reports.wording import plural

INK, MUTED, ACCENT, WARN = "#1f2933", "#6b7785", "#2f6f9f", "#b45309"
BIN_MINUTES = 5
MAX_STAFF_BARS = 30


@dataclass(frozen=True, slots=True)
class Chart:
    key: str
    title: str
    description: str  # the text alternative: what a reader who cannot see the chart needs
    svg: str


def _matplotlib_home() -> None:
    """matplotlib keeps its font list in a config folder, by default under HOME: one it cannot
    write (a service user's missing home) earns warnings on every report, and as root it would
    create HOME. Its folder is ccm's own cache folder instead, else a private temporary one."""
    import os

    if os.environ.get("MPLCONFIGDIR"):
        return
    from ccmcli.store.fileio import make_dirs, would_create_home
    from ccmcli.store.icd10 import default_cache_dir

    folder = default_cache_dir() / "matplotlib"
    try:
        if would_create_home(folder):
            raise OSError("no home")
        make_dirs(folder)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OSError("not writable")
    except OSError:
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="ccm-matplotlib-")
        atexit.register(shutil.rmtree, folder, True)
    os.environ["MPLCONFIGDIR"] = str(folder)


def _figure(width: float, height: float, margins: dict[str, float]):
    """A figure with fixed margins (inches): matplotlib's automatic layout would draw each
    chart twice more, and on a large practice the charts are a good part of the command."""
    _matplotlib_home()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=margins["left"] / width, right=1 - margins.get("right", 0.15) / width,
                        bottom=margins["bottom"] / height, top=1 - margins["top"] / height)  # fmt: skip
    return fig, fig.add_subplot()


# Charts are drawn WIDTH inches wide (72 SVG units an inch) with text of LABEL and SMALL
# units: on a phone (about 370 px for the chart) no label is smaller than 9 px, and on a
# desktop the page draws them at most 40rem wide (svg.chart in practice_report.html.j2).
WIDTH, LABEL, SMALL = 5.6, 11, 10


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(colors=INK, labelsize=LABEL)
    ax.grid(axis="y", color="#d9dee3", linewidth=0.6)
    ax.set_axisbelow(True)


def _svg(fig, key: str, title: str, description: str) -> Chart:
    """Render `fig` and make its markup fit for an HTML page (see the module docstring)."""
    import matplotlib

    buf = io.StringIO()
    rc = {"svg.fonttype": "none", "svg.hashsalt": f"ccm-{key}", "font.size": LABEL}
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
    threshold of the programs seen: who sits just under a line is who can still earn a code.
    APCM patients are left out: their program has no minute thresholds (A8)."""
    minutes = [counted_minutes(j) for j in report.judgements
               if not j.blockers and j.patient.program != "apcm"]  # fmt: skip
    top = max([*minutes, 60]) + BIN_MINUTES
    top -= top % BIN_MINUTES
    lines = thresholds(report, top)
    return _kept(report, "minutes", (minutes, top, lines, str(report.month)), _minutes_chart)


def _minutes_chart(minutes: list[int], top: int, lines: list, month: str) -> Chart:
    fig, ax = _figure(WIDTH, 3.6, {"left": 0.6, "bottom": 0.55, "top": 0.35})
    _style(ax)
    edges = list(range(0, top + BIN_MINUTES + 1, BIN_MINUTES))
    ax.hist(minutes, bins=edges, color=ACCENT, edgecolor="white", linewidth=0.5)
    for at, _codes in lines:
        ax.axvline(at, color=WARN, linewidth=1, linestyle="--")
    # each line is named by its minutes, level and readable; the codes earned there are in the
    # caption and the text alternative (a row of codes on every line would not fit the width)
    codes_axis = ax.secondary_xaxis("top")
    codes_axis.set_xticks([at for at, _ in lines], labels=[str(at) for at, _ in lines])
    codes_axis.tick_params(labelsize=SMALL, colors=WARN, length=0, pad=2)
    ax.set_xlim(0, top + BIN_MINUTES)
    ax.set_xlabel("minutes that count toward the month's track", color=INK)
    ax.set_ylabel("patients", color=INK)
    ax.yaxis.get_major_locator().set_params(integer=True)
    where = ", ".join(f"{at} min ({' '.join(codes)})" for at, codes in lines)
    desc = (f"{plural(len(minutes), 'patient')} without blockers in {month} (APCM aside: it has "
            f"no minute thresholds), by counted minutes in {BIN_MINUTES}-minute bins; dashed "
            f"lines at the thresholds: {where or 'none'}")  # fmt: skip
    return _svg(fig, "minutes", "Minutes per patient against the thresholds", desc)


def _kept(report: PracticeReport, key: str, data: tuple, draw) -> Chart:
    """The chart `draw(*data)` draws, as drawn before from the same data when it was kept."""
    from dataclasses import astuple

    from ccmcli.reports.kept_charts import kept

    return Chart(*kept(report.data_root, key, data, lambda *d: astuple(draw(*d))))


def amount_chart(report: PracticeReport) -> Chart:
    """The amount billable per month over the report's months; an open month is hatched."""
    months = [(m.month.year, m.month.month, m.amount, m.provisional) for m in report.history]
    return _kept(report, "amount", (months,), _amount_chart)


def _amount_chart(months: list[tuple[int, int, float, bool]]) -> Chart:
    fig, ax = _figure(WIDTH, 3.2, {"left": 1.0, "bottom": 0.6, "top": 0.3})
    _style(ax)
    # the year under the first month and each January only: a year under every month would
    # run into its neighbours on a phone
    labels = [f"{month:02d}\n{year}" if i == 0 or month == 1 else f"{month:02d}"
              for i, (year, month, _, _) in enumerate(months)]  # fmt: skip
    amounts = [amount for _, _, amount, _ in months]
    bars = ax.bar(range(len(labels)), amounts, color=ACCENT, width=0.7)
    for bar, (_, _, _, provisional) in zip(bars, months, strict=True):
        if provisional:
            bar.set_hatch("//")
            bar.set_facecolor("#9cc0dc")
    ax.set_ylabel("amount ($)", color=INK)
    ax.yaxis.set_major_formatter("{x:,.0f}")
    every = -(-len(labels) // 24)  # past two years, every few months is labelled
    ax.set_xticks(range(len(labels)), [t if i % every == 0 else "" for i, t in enumerate(labels)])
    ax.tick_params(axis="x", labelsize=SMALL)
    marks = [f"{a:,.0f}" if a else "" for a in amounts]
    slot = (WIDTH - 1.15) * 72 / max(len(labels), 1)  # SVG units a month's bar has
    if max(map(len, marks), default=0) * SMALL * 0.62 <= slot:  # else the table gives them
        ax.bar_label(bars, labels=marks, fontsize=SMALL, color=MUTED, padding=2)
    ax.margins(y=0.15)
    name = [f"{year}-{month:02d}" for year, month, _, _ in months]
    peak = max(range(len(months)), key=lambda i: amounts[i])  # the first of the highest
    desc = (f"amount billable per month from {name[0]} to {name[-1]}; {name[-1]}: "
            f"${amounts[-1]:,.2f}; highest {name[peak]}: ${amounts[peak]:,.2f}")  # fmt: skip
    return _svg(fig, "amount", "Amount billable per month", desc)


def staff_chart(report: PracticeReport) -> Chart:
    """Horizontal bars of minutes per staff member, clinical staff and practitioner stacked;
    the MAX_STAFF_BARS with most minutes (the table below the chart lists everyone)."""
    rows = [(r.staff, r.clinical_staff, r.practitioner, r.minutes)
            for r in report.staff[:MAX_STAFF_BARS]]  # fmt: skip
    return _kept(report, "staff", (rows, len(report.staff), str(report.month)), _staff_chart)


def _staff_chart(rows: list[tuple[str, int, int, int]], everyone: int, month: str) -> Chart:
    names = [name for name, *_ in rows]
    staff = [r[1] for r in rows]
    prac = [r[2] for r in rows]
    left = 0.35 + 0.09 * max(map(len, names), default=4)
    fig, ax = _figure(
        WIDTH, 1.0 + 0.25 * max(len(names), 1), {"left": left, "bottom": 0.6, "top": 0.1}
    )
    _style(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#d9dee3", linewidth=0.6)
    ax.barh(names, staff, color=ACCENT, label="clinical staff")
    ax.barh(names, prac, left=staff, color=WARN, label="practitioner")
    ax.set_ylim(len(names) - 0.5, -0.5)  # most minutes on top, no empty band
    ax.xaxis.set_major_formatter("{x:,.0f}")
    ax.set_xlabel("minutes logged this month", color=INK)
    ax.legend(frameon=False, fontsize=SMALL, loc="lower right")
    top = ", ".join(f"{name} {minutes} min" for name, _, _, minutes in rows[:3])
    shown = f" (the {len(rows)} with most minutes drawn)" if len(rows) < everyone else ""
    desc = (f"minutes logged in {month} by {plural(everyone, 'staff member')}{shown}"
            + (f"; most: {top}" if top else ""))  # fmt: skip
    return _svg(fig, "staff", "Minutes per staff member", desc)


def month_charts(report: PracticeReport) -> dict[str, Chart]:
    """The charts of the report's month alone (drawn while the months before are judged); no
    staff chart for a month without minutes."""
    charts = [minutes_chart(report)] + ([staff_chart(report)] if report.staff else [])
    return {c.key: c for c in charts}


def all_charts(report: PracticeReport, drawn: dict[str, Chart] | None = None) -> dict[str, Chart]:
    """Every chart, in page order; those already `drawn` are kept."""
    charts = dict(drawn or month_charts(report))
    charts["amount"] = amount_chart(report)
    return {key: charts[key] for key in ("minutes", "amount", "staff") if key in charts}
