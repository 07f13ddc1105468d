"""Text views for a person at a terminal: `patient show` and `explain`. Prose folds at spaces to
the terminal's width (ids, codes and amounts stay whole); their tables fit as every table does."""

import sys

from ccmcli.cli.output import print_table, table_width, use_color
from ccmcli.cli.tables import (
    BAR_MARKS,
    SHORTEN_TEXT,
    Column,
    Drop,
    Short,
    TableSpec,
    bar,
    shorten,
    wrap,
)


def _print(lines: list[str], width: int | None, indent: str = "  ") -> None:
    """Prose, folded to `width`; on a terminal with colour, progress bars are coloured."""
    color = use_color()
    for line in lines:
        for part in wrap(line, width, indent):
            sys.stdout.write((_coloured(part) if color and "█" in part else part) + "\n")


def _coloured(line: str) -> str:
    from rich.console import Console
    from rich.text import Text

    console = Console(force_terminal=True, color_system="standard", width=10_000)
    text = Text(line)
    for pattern, style in BAR_MARKS:
        text.highlight_regex(pattern, style)
    with console.capture() as out:
        console.print(text, end="")
    return out.get()


def progress_line(j) -> str | None:
    """`progress: ███████░░░ 45/60 toward 99439 (clinical staff)`: minutes toward the next
    threshold, for a month that is not blocked and can still gain."""
    from ccmcli.reports.wording import next_short, progress_of

    if j.next is None or j.blockers:
        return None
    return f"progress: {bar(*progress_of(j, j.next))} ({next_short(j)})"


def patient_view(view, wide: bool = False) -> None:
    from ccmcli.reports.wording import codes_text, status_line

    p, width = view.patient, table_width(wide)
    program = view.judgement.patient.program  # the program in force that month (A8)
    qmb = ", QMB" if p.qmb else ""
    lines = [f"{p.id}  {p.name}  (born {p.birth_date}, program {program}{qmb})"]
    lines += [f"  program {c.program} from {c.month}" for c in p.program_changes]
    if p.mbi:
        lines.append(f"  MBI: {p.mbi}")
    for c in p.conditions:
        flag = "  (not chronic)" if not c.chronic else ""
        head = f"  condition {c.code}"
        room = None if width is None else max(width - len(head) - len(flag) - 2, 12)
        desc = shorten(c.description or "", room) if room else c.description or ""
        lines.append(f"{head}  {desc}{flag}".rstrip())
    if p.consent:
        rev = f", revoked {p.consent.revoked}" if p.consent.revoked else ""
        lines.append(f"  consent {p.consent.date} ({p.consent.method}){rev}")
    if p.initiating_visit:
        lines.append(f"  initiating visit {p.initiating_visit.date} ({p.initiating_visit.type})")
    if p.care_plan:
        lines.append(f"  care plan established {p.care_plan.established}")
    j = view.judgement
    if not view.enrolled:  # A17: no judgement of a month the patient had no part in
        _print([*lines, f"{p.id}: not enrolled in {j.month}"], width, "    ")
        return
    lines.append(status_line(j))
    if j.codes:
        lines.append(f"  codes {codes_text(j.codes)}, amount {j.amount:.2f}, date of service "
                     f"{j.date_of_service}")  # fmt: skip
    progress = progress_line(view.judgement)
    if progress:
        lines.append(f"  {progress}")
    for f in view.judgement.blockers + view.judgement.warnings:
        lines.append(f"  {f.rule}: {f.message}")
    _print(lines, width, "    ")


# explain's entries: the role's short word, then the file's name (in the heading) leaves each
# row its line number, then the verdict and the minutes their short forms (`no: before
# consent`, `15`), then who did the work goes, then free text is shortened, then the service
# (the verdict names another service's time) and the role go. The verdict folds at spaces: it
# may hold an entry id (`voided by E...`), which is never cut.
EXPLAIN_ENTRIES = TableSpec(
    (Column("where", short="line", short_name="line", justify="left"), Column("id"),
     Column("date"), Column("minutes", justify="right", short="min", short_name="min"),
     Column("role", short="role_short"), Column("staff", kind="text"), Column("service"),
     Column("verdict", short="why", kind="wrap", min_width=14)),
    (Short("role"), Short("where"), Short("verdict"), Short("minutes"), Drop("staff"),
     SHORTEN_TEXT, Drop("service"), Drop("role")),
)  # fmt: skip


def explain_view(ex, wide: bool = False) -> None:
    from ccmcli.reports.explain_text import explain_parts
    from ccmcli.reports.wording import SHORT_ROLE

    width = table_width(wide)
    if not ex.enrolled:  # A17: no judgement of a month the patient had no part in
        sys.stdout.write(f"{ex.judgement.patient.id}: not enrolled in {ex.judgement.month}\n")
        return
    head, entries, tail = explain_parts(ex)
    for line in head:  # a gate's fact folds under the rule id
        _print([line], width, "        " if line.startswith("  ") else "  ")
    files = sorted({e["where"].rsplit(":", 1)[0] for e in entries})
    sys.stdout.write(f"\nentries ({', '.join(files) or 'none this month'}):\n")
    if entries:
        rows = [{**e, "role_short": SHORT_ROLE.get(e["role"], e["role"]),
                 "why": e["verdict"].replace("not counted:", "no:"),
                 "min": e["minutes"].removesuffix(" min")} for e in entries]  # fmt: skip
        print_table([], rows, spec=EXPLAIN_ENTRIES, wide=wide)
    sys.stdout.write("\n")
    _print(tail, width)
