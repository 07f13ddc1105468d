"""The practice report as one self-contained HTML page (contract 10).

Jinja2 with autoescaping writes the page: every name and note from the data is escaped, and only
the charts' SVG (drawn by report_charts from numbers) is inserted as markup. Styles and the small
sorting script are inline; nothing is loaded from the network when the file is opened.
"""

from pathlib import Path

from ccmcli.reports.practice_report import NEAR_MINUTES, PracticeReport, counted_minutes
from ccmcli.reports.wording import codes_text, next_text, plural
from ccmcli.rules.engine import Judgement

TEMPLATES = Path(__file__).parent / "templates"
STATUS_WORDS = {
    "billable": "billable",
    "below_threshold": "below threshold",
    "blocked": "blocked",
    "no_time": "no time",
}


def money(x: float) -> str:
    return f"{x:,.2f}"


def patient_row(j: Judgement) -> dict:
    """One row of the patients table: what `ccm check` prints, with sort keys for the script."""
    return {
        "id": j.patient.id,
        "name": j.patient.name,
        "program": j.patient.program,
        "status": j.status,
        "staff": j.minutes["clinical_staff"],
        "prac": j.minutes["practitioner"],
        "counted": counted_minutes(j),
        "apart": j.apart,
        "codes": codes_text(j.codes),
        "date": j.date_of_service.isoformat() if j.date_of_service else "",
        "amount": f"{j.amount:.2f}" if j.codes else "",
        "amount_sort": f"{j.amount:.2f}",
        "needed": j.next.minutes_needed if j.next else "",
        "next": next_text(j),
        "blockers": " ".join(b.rule for b in j.blockers),
    }


def render(report: PracticeReport, charts: dict) -> str:
    import jinja2
    from markupsafe import Markup  # installed with Jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["money"] = money
    env.filters["codes"] = codes_text
    env.filters["plural"] = plural
    s = report.summary
    statuses = [(key, words, s[key]) for key, words in STATUS_WORDS.items()]
    return env.get_template("practice_report.html.j2").render(
        r=report,
        near_minutes=NEAR_MINUTES,
        s=s,
        statuses=statuses,
        blockers=sorted(report.blockers.items(), key=lambda kv: (-kv[1], kv[0])),
        charts={k: Markup(c.svg) for k, c in charts.items()},
        descriptions={k: c.description for k, c in charts.items()},
        rows=[patient_row(j) for j in report.judgements],
        problems=report.current.problems,
        errors=sum(p.severity == "error" for p in report.current.problems),
        codes=" ".join(f"{c}x{n}" for c, n in s["codes"].items()),
    )  # fmt: skip


def report_html(report: PracticeReport, drawn: dict | None = None) -> str:
    """The whole page: the charts not yet `drawn` drawn now, then the template filled in."""
    from ccmcli.reports.report_charts import all_charts

    return render(report, all_charts(report, drawn))
