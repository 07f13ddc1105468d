"""The tables of `check`, `worklist`, `entries`, `patient list` and `rules`: their columns and
the order in which they give way on a narrow terminal (cli/tables.py). JSON and CSV are built
elsewhere and never change with the terminal."""

from ccmcli.cli.output import print_table, table_width
from ccmcli.cli.tables import (
    BAR_MARKS,
    SHORTEN_TEXT,
    Column,
    Drop,
    Short,
    TableSpec,
    bar,
    wrap,
)

STATUS_STYLE = {"billable": "green", "blocked": "red", "below_threshold": "yellow",
                "no_time": "dim", "error": "bold red"}  # fmt: skip


def file_error_text(j) -> str:
    """Contract 3: the line of a patient whose file has an error says what is wrong and
    points to `ccm validate` (the narrow form keeps the pointer alone)."""
    return "; ".join(b.message for b in j.blockers) + "; see ccm validate"


DOUBT_MARK = "!"  # the codes rest on minutes that warnings doubt: a line under the table says


def doubt_lines(report) -> list[str]:
    """One line per patient whose codes rest on minutes a warning doubts (a duplicate entry,
    overlapping time): the bill is where such a warning matters most, so it is said there."""
    from ccmcli.reports.wording import codes_text

    out = []
    for j in report.judgements:
        if j.without_doubted is None:
            continue
        rules = sorted({w.rule for w in j.warnings if w.doubted})
        out.append(f"{DOUBT_MARK} {j.patient.id}: {codes_text(j.codes)} only with the minutes "
                   f"that {' and '.join(rules)} doubt; without them "
                   f"{codes_text(j.without_doubted) or 'nothing'} (ccm explain {j.patient.id})")  # fmt: skip
    return out


def status_style(row: dict) -> str | None:
    return STATUS_STYLE.get(row.get("status_word", ""))


def money(x: float) -> str:
    return f"{x:.2f}"


# check: program goes first, then `next` takes its short form and carries the blockers' rule
# ids, then the status its short word, then names are shortened, then the minutes go (ids,
# codes, dates and amounts always stay).
CHECK = TableSpec(
    (Column("patient"), Column("name", kind="text"), Column("program"),
     Column("status", short="status_short", style=status_style),
     Column("staff", justify="right"), Column("prac", justify="right"), Column("codes"),
     Column("date"), Column("amount", justify="right"),
     Column("next", short="todo", short_name="next/blocker"), Column("blockers")),
    (Drop("program"), (Short("next"), Drop("blockers", shown_in="next")), Short("status"),
     SHORTEN_TEXT, Drop("prac", "staff")),
)  # fmt: skip


def check_rows(report) -> list[dict]:
    from ccmcli.reports.wording import SHORT_STATUS, codes_text, next_short, next_text, rule_ref

    rows = []
    for j in report.judgements:
        refs = " ".join(rule_ref(b.rule, j.rules) for b in j.blockers)
        if j.status == "error":
            refs = "ccm validate"
        mark = DOUBT_MARK if j.without_doubted is not None else ""
        rows.append({
            "patient": j.patient.id, "name": j.patient.name, "program": j.patient.program,
            "status": j.status + mark, "status_word": j.status,
            "status_short": SHORT_STATUS.get(j.status, j.status) + mark,
            "staff": j.minutes["clinical_staff"], "prac": j.minutes["practitioner"],
            "codes": codes_text(j.codes), "date": j.date_of_service,
            "amount": money(j.amount) if j.codes else "",
            "next": file_error_text(j) if j.status == "error" else next_text(j),
            "blockers": " ".join(b.rule for b in j.blockers), "todo": next_short(j) or refs,
        })  # fmt: skip
        rows += [service_row(s) for s in getattr(j, "services", ())]
    return rows


def service_row(s) -> dict:
    """A16: a billed service on its own line under the patient's row (`+ RPM`), with the
    columns the program's row has: its minutes by role, codes, date, amount, next, blockers."""
    from ccmcli.reports.wording import (
        SHORT_STATUS,
        codes_text,
        next_short,
        next_text,
        service_ref,
    )
    from ccmcli.rules.services import SERVICE_NAMES

    by_role = {"clinical_staff": 0, "practitioner": 0}
    for v in s.verdicts:
        if v.counted:
            by_role[v.entry.role] = by_role.get(v.entry.role, 0) + v.entry.minutes
    blockers = " ".join(b.rule for b in s.blockers)
    return {
        "patient": "", "name": f"+ {SERVICE_NAMES[s.service]}", "program": s.service,
        "status": s.status, "status_word": s.status,
        "status_short": SHORT_STATUS.get(s.status, s.status),
        "staff": by_role["clinical_staff"], "prac": by_role["practitioner"],
        "codes": codes_text(s.codes), "date": s.date_of_service,
        "amount": money(s.amount) if s.codes else "", "next": next_text(s),
        "blockers": blockers,
        "todo": next_short(s) or " ".join(service_ref(b.rule, s.service) for b in s.blockers),
    }  # fmt: skip


def check_totals(summary: dict) -> str:
    """The totals line under the check table: contract section 3 `summary`, in words."""
    shown = ("billable", "below_threshold", "blocked", "no_time")
    counts = ", ".join(f"{summary[s]} {s}" for s in shown)
    if summary.get("error"):  # patients whose file has an error: never left out in silence
        counts += f", {summary['error']} error (see ccm validate)"
    units = " ".join(f"{c}x{n}" for c, n in summary["codes"].items())
    n = summary["patients"]
    line = (f"total: {n} patient{'s' if n != 1 else ''} ({counts}); amount "
            f"{money(summary['amount'])}" + (f"; units {units}" if units else ""))  # fmt: skip
    total = summary.get("total_amount", summary["amount"])
    if total != summary["amount"]:  # A16: the other services billed beside the programs
        line += (f"; with other services {money(total)} (patient share "
                 f"{money(summary['patient_share'])})")  # fmt: skip
    return line


def check_table(report, wide: bool = False) -> None:
    from ccmcli.reports.practice_month import summarize

    title = (
        f"{report.month} ({'provisional, ' if report.provisional else ''}rules {report.rules.year})"
    )
    width = table_width(wide)
    notes = [part for line in doubt_lines(report) for part in wrap(line, width, "  ")]
    totals = wrap(check_totals(summarize(report)), width, "  ")
    print_table([], check_rows(report), title=title, spec=CHECK, wide=wide,
                footer=[*notes, *totals])  # fmt: skip


# worklist: days left (the same for every row, and in the title) first, then the role's short
# word, then names are shortened, then what the codes add, then the progress bar.
WORKLIST = TableSpec(
    (Column("patient"), Column("name", kind="text"), Column("minutes", justify="right"),
     Column("needed", justify="right"), Column("role", short="role_short"),
     Column("next codes", key="next_codes"), Column("adds", justify="right"),
     Column("progress", short="progress_short", marks=BAR_MARKS),
     Column("days left", key="days_left", justify="right")),
    (Drop("days left"), Short("role"), SHORTEN_TEXT, Short("progress"), Drop("adds"),
     Drop("progress")),
)  # fmt: skip


def worklist_table(wl, wide: bool = False) -> None:
    from ccmcli.reports.wording import SHORT_ROLE, codes_text, progress_of

    rows = []
    for i, j, step in zip(wl.items(), wl.judgements, wl.steps, strict=True):
        done, target = progress_of(j, step)
        codes = codes_text([(c["code"], c["units"]) for c in i["next"]["codes"]])
        if "service" in i:  # A16: "RPM: 99457x1, needs a live call"
            from ccmcli.rules.services import SERVICE_NAMES

            codes = f"{SERVICE_NAMES[i['service']]}: {codes}" + (
                ", needs a live call" if i.get("needs") else "")  # fmt: skip
        rows.append({
            "patient": i["patient_id"], "name": i["name"], "minutes": j.counted,
            "needed": i["minutes_needed"], "role": i["role"],
            "role_short": SHORT_ROLE.get(i["role"], i["role"]),
            "next_codes": codes,
            "adds": money(i["adds"]), "progress": bar(done, target),
            "progress_short": bar(done, target, 5), "days_left": i["days_left"],
        })  # fmt: skip
    t = wl.totals()
    who = f"total: {t['patients']} patient{'s' if t['patients'] != 1 else ''}, "
    if wl.days_left:
        title = f"worklist {wl.month}: {wl.days_left} day{'s' if wl.days_left != 1 else ''} left"
        line = (f"{who}{t['minutes_needed']} minutes still needed, "
                f"{money(t['amount_at_stake'])} at stake")  # fmt: skip
    else:  # an ended month: nothing is still to gain but by entries dated in it, logged late
        title = (f"worklist {wl.month}: the month has ended (only late entries dated in it can "
                 "still count)")  # fmt: skip
        line = (f"{who}{t['minutes_needed']} minutes were missing, "
                f"{money(t['amount_at_stake'])} not reached")  # fmt: skip
    print_table([], rows, title=title, spec=WORKLIST, wide=wide,
                footer=wrap(line, table_width(wide), "  "))  # fmt: skip


# entries: the file's line, then start and end, then the role's short word, then the two void
# columns become one, then free text is shortened, then the note and the activity go.
ENTRIES = TableSpec(
    (Column("id"), Column("patient"), Column("date"), Column("min", justify="right"),
     Column("role", short="role_short"), Column("staff", kind="text", min_width=10),
     Column("activity", kind="text"), Column("start"), Column("end"),
     Column("note", kind="text", min_width=12), Column("voided", short="void"), Column("voids"),
     Column("line", justify="right")),
    (Drop("line"), Drop("start", "end"), Short("role"),
     (Short("voided"), Drop("voids", shown_in="voided")), SHORTEN_TEXT, Drop("note"),
     Drop("activity")),
)  # fmt: skip


def entries_table(listing, wide: bool = False, patient: str | None = None) -> None:
    """With `patient`, the title names the patient and the table leaves out its column first."""
    from ccmcli.reports.wording import SHORT_ROLE

    rows = [
        {"id": e.id, "patient": e.patient_id, "date": e.date.isoformat(), "min": e.minutes,
         "role": e.role, "role_short": SHORT_ROLE.get(e.role, e.role), "staff": e.staff,
         "activity": e.activity, "start": e.start, "end": e.end, "note": e.note,
         "voided": e.voided_by or "", "voids": e.voids, "line": e.line,
         "void": f"voids {e.voids}" if e.voids else ("voided" if e.voided_by else "")}
        for e in listing.entries
    ]  # fmt: skip
    title = f"{listing.log.file}: {len(listing.entries)} rows"
    spec = ENTRIES
    if patient:
        title += f" of {patient}"
        spec = TableSpec(spec.columns, (Drop("patient", shown_in="title"), *spec.steps))
    print_table([], rows, title=title, spec=spec, wide=wide)


PATIENTS = TableSpec(
    (Column("patient"), Column("name", kind="text"), Column("program"),
     Column("conditions"), Column("consent"), Column("care plan", key="care_plan")),
    (SHORTEN_TEXT, Drop("program")),  # then conditions fold at spaces: every date stays
)  # fmt: skip


def patients_table(rows: list[list], wide: bool = False) -> None:
    keys = ("patient", "name", "program", "conditions", "consent", "care_plan")
    print_table([], [dict(zip(keys, r, strict=True)) for r in rows], spec=PATIENTS, wide=wide)


# rules: the factor and the file (both in the line under the table) first, then the kind (the
# minutes say it), then the rule references are shortened, then the track's name.
RULES = TableSpec(
    (Column("program"), Column("track"), Column("code"), Column("kind"), Column("minutes"),
     Column("cap", justify="right"), Column("amount", justify="right"),
     Column("rvu", justify="right"), Column("factor", justify="right"), Column("file"),
     Column("rule", kind="text")),
    (Drop("factor", "file"), Drop("kind"), SHORTEN_TEXT, Drop("track")),
)  # fmt: skip
GATES = TableSpec(
    (Column("blocker"), Column("id"), Column("programs"), Column("blocks when", key="summary",
                                                                 kind="text", min_width=20)),
    (SHORTEN_TEXT, Drop("programs")),
)  # fmt: skip


def rules_tables(view: dict, wide: bool = False) -> None:
    """The codes with their amounts and where each comes from, then the blockers' legend."""
    from ccmcli.reports.rules_view import ROWS_HEADER, amounts_note, rules_rows

    rows = []
    for r in rules_rows(view):
        row = dict(zip(ROWS_HEADER, r, strict=True))
        rows.append({**row, "minutes": row["when"], "factor": row["conversion_factor"],
                     "file": row["rvu_file"], "rule": row["references"]})  # fmt: skip
    title = f"rules {view['rules']}" + (f" ({view['note']})" if view.get("note") else "")
    note = wrap(amounts_note(view), table_width(wide), "  ")
    print_table([], rows, title=title, spec=RULES, wide=wide, footer=[*note, ""])
    legend = [{"blocker": g["rule"], "id": g["ref"], "programs": " ".join(g["programs"]),
               "summary": g["summary"]} for g in view["gates"]]  # fmt: skip
    print_table([], legend, title="blockers (narrow tables show the id)", spec=GATES, wide=wide)
