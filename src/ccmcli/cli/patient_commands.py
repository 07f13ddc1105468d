"""`ccm patient add | list | show`."""

from typing import Annotated

import typer

from ccmcli.cli.app import (
    DataDirOpt,
    FormatOpt,
    MonthOpt,
    QuietOpt,
    WideOpt,
    data_dir,
    err,
    fmt,
    patient_app,
)
from ccmcli.cli.completion import patient_ids
from ccmcli.cli.output import emit, report_problems


@patient_app.command("add")
def add(
    ctx: typer.Context,
    patient_id: Annotated[str, typer.Argument(metavar="ID", help="Patient id (1-32 letters, digits, - or _).")],
    name: Annotated[str, typer.Option("--name", help="Full name.")] = ...,
    birth_date: Annotated[str, typer.Option("--birth-date", help="Date of birth.")] = ...,
    condition: Annotated[list[str] | None, typer.Option("--condition", help="ICD-10-CM code of a chronic condition (repeatable).")] = None,
    consent_date: Annotated[str | None, typer.Option("--consent-date", help="Date consent was documented.")] = None,
    consent_method: Annotated[str | None, typer.Option("--consent-method", help="verbal | written.")] = None,
    initiating_visit: Annotated[str | None, typer.Option("--initiating-visit", help="Date of the initiating visit.")] = None,
    visit_type: Annotated[str | None, typer.Option("--visit-type", help="em | awv | ippe | tcm.")] = None,
    care_plan: Annotated[str | None, typer.Option("--care-plan", help="Date the care plan was established.")] = None,
    program: Annotated[str, typer.Option("--program", help="ccm | pcm.")] = "ccm",
    principal_condition: Annotated[str | None, typer.Option("--principal-condition", help="pcm: the principal condition code.")] = None,
    mbi: Annotated[str | None, typer.Option("--mbi", help="Medicare Beneficiary Identifier.")] = None,
    billing_npi: Annotated[str | None, typer.Option("--billing-npi", help="Billing NPI, if not the practice's.")] = None,
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Write patients/ID.yaml (refuses an existing ID)."""
    from ccmcli.actions import patients

    d = data_dir(ctx, data)
    fields = patients.AddFields(
        patient_id, name, birth_date, condition or [], consent_date, consent_method,
        initiating_visit, visit_type, care_plan, program, principal_condition, mbi, billing_npi,
    )  # fmt: skip
    path, warnings = patients.add_patient(d, fields)
    for w in warnings:
        err(w)
    if not quiet:
        err(f"added {patient_id} ({d.relative(path)})")


@patient_app.command("list")
def list_(
    ctx: typer.Context, data: DataDirOpt = None, format: FormatOpt = None, wide: WideOpt = False
) -> None:
    """List patients with their program, conditions, consent and care plan."""
    from ccmcli.loader import load

    found = load(data_dir(ctx, data))
    rows = [
        [p.id, p.name, p.program, " ".join(p.chronic_codes()),
         p.consent.date.isoformat() if p.consent else None,
         p.care_plan.established.isoformat() if p.care_plan else None]
        for p in found.patients.values()
    ]  # fmt: skip
    header = ["patient_id", "name", "program", "conditions", "consent", "care_plan"]
    if fmt(format).value == "table":
        from ccmcli.cli.table_views import patients_table

        patients_table(rows, wide)
    else:
        emit(fmt(format), json_obj={"patients": [dict(zip(header, r, strict=True)) for r in rows],
                                    "problems": [p.as_dict() for p in found.problems]},
             header=header, rows=rows)  # fmt: skip
    report_problems(found.problems)


@patient_app.command("show")
def show(
    ctx: typer.Context,
    patient_id: Annotated[str, typer.Argument(metavar="ID", autocompletion=patient_ids)],
    month: MonthOpt = None,
    data: DataDirOpt = None,
    format: FormatOpt = None,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
) -> None:
    """Show one patient's record and month-to-date status."""
    from ccmcli.actions import patients
    from ccmcli.cli import text_views

    d = data_dir(ctx, data)
    view = patients.show_patient(d, patient_id, month)
    if fmt(format).value == "json":
        from ccmcli.cli.output import print_json

        print_json(view.as_dict())
    else:
        text_views.patient_view(view, wide)
    report_problems(view.problems, quiet=True)
