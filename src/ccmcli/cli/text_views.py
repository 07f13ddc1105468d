"""Text views for a person at a terminal: patient show, explain, check and worklist tables."""

from ccmcli.cli.output import console, print_table


def money(x: float) -> str:
    return f"{x:.2f}"


def patient_view(view) -> None:
    from ccmcli.reports.wording import status_line

    p, out = view.patient, console()
    program = view.judgement.patient.program  # the program in force that month (A8)
    qmb = ", QMB" if p.qmb else ""
    out.print(f"{p.id}  {p.name}  (born {p.birth_date}, program {program}{qmb})")
    for change in p.program_changes:
        out.print(f"  program {change.program} from {change.month}")
    if p.mbi:
        out.print(f"  MBI: {p.mbi}")
    for c in p.conditions:
        flag = "" if c.chronic else "  (not chronic)"
        out.print(f"  condition {c.code}  {c.description or ''}{flag}")
    if p.consent:
        rev = f", revoked {p.consent.revoked}" if p.consent.revoked else ""
        out.print(f"  consent {p.consent.date} ({p.consent.method}){rev}")
    if p.initiating_visit:
        out.print(f"  initiating visit {p.initiating_visit.date} ({p.initiating_visit.type})")
    if p.care_plan:
        out.print(f"  care plan established {p.care_plan.established}")
    out.print(status_line(view.judgement))
    for f in view.judgement.blockers + view.judgement.warnings:
        out.print(f"  {f.rule}: {f.message}")


def check_table(report) -> None:
    from ccmcli.reports.wording import codes_text, next_text

    rows = [
        [j.patient.id, j.patient.name, j.patient.program, j.status,
         j.minutes["clinical_staff"], j.minutes["practitioner"], codes_text(j.codes),
         j.date_of_service or "", money(j.amount) if j.codes else "", next_text(j),
         " ".join(b.rule for b in j.blockers)]
        for j in report.judgements
    ]  # fmt: skip
    title = (
        f"{report.month} ({'provisional, ' if report.provisional else ''}rules {report.rules.year})"
    )
    print_table(
        ["patient", "name", "program", "status", "staff", "prac", "codes", "date", "amount",
         "next", "blockers"],
        rows, title=title, keep=("patient", "codes", "status", "date"),
    )  # fmt: skip
