"""`ccm patient add | list | show`."""

from typing import Annotated

import typer

from ccmcli.cli.app import (
    BomOpt,
    DataDirOpt,
    Format,
    FormatOpt,
    MonthOpt,
    OutputOpt,
    QuietOpt,
    ViewFormatOpt,
    WideOpt,
    data_dir,
    err,
    fmt,
    patient_app,
)
from ccmcli.cli.completion import patient_ids
from ccmcli.cli.output import destination, emit, report_problems


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
    program: Annotated[str, typer.Option("--program", help="ccm | pcm | apcm.")] = "ccm",
    principal_condition: Annotated[str | None, typer.Option("--principal-condition", help="pcm: the principal condition code.")] = None,
    mbi: Annotated[str | None, typer.Option("--mbi", help="Medicare Beneficiary Identifier.")] = None,
    billing_npi: Annotated[str | None, typer.Option("--billing-npi", help="Billing NPI, if not the practice's.")] = None,
    bhi_condition: Annotated[list[str] | None, typer.Option("--bhi-condition", help="BHI: ICD-10-CM code of a behavioral-health condition treated (repeatable).")] = None,
    bhi_consent_date: Annotated[str | None, typer.Option("--bhi-consent-date", help="BHI: date its own consent was documented.")] = None,
    bhi_consent_method: Annotated[str | None, typer.Option("--bhi-consent-method", help="BHI: verbal | written.")] = None,
    bhi_care_plan: Annotated[str | None, typer.Option("--bhi-care-plan", help="BHI: date its care plan was established.")] = None,
    cocm_month: Annotated[list[str] | None, typer.Option("--cocm-month", help="YYYY-MM in which CoCM is billed elsewhere (repeatable).")] = None,
    rpm_consent_date: Annotated[str | None, typer.Option("--rpm-consent-date", help="RPM: date its consent was documented.")] = None,
    rpm_consent_method: Annotated[str | None, typer.Option("--rpm-consent-method", help="RPM: verbal | written.")] = None,
    rtm_consent_date: Annotated[str | None, typer.Option("--rtm-consent-date", help="RTM: date its consent was documented.")] = None,
    rtm_consent_method: Annotated[str | None, typer.Option("--rtm-consent-method", help="RTM: verbal | written.")] = None,
    data: DataDirOpt = None,
    quiet: QuietOpt = False,
) -> None:  # fmt: skip
    """Write patients/ID.yaml (refuses an existing ID)."""
    from ccmcli.actions import patients

    d = data_dir(ctx, data)
    fields = patients.AddFields(
        patient_id, name, birth_date, condition or [], consent_date, consent_method,
        initiating_visit, visit_type, care_plan, program, principal_condition, mbi, billing_npi,
        patients.ServiceFields(bhi_condition or [], bhi_consent_date, bhi_consent_method,
                               bhi_care_plan, cocm_month or [], rpm_consent_date,
                               rpm_consent_method, rtm_consent_date, rtm_consent_method),
    )  # fmt: skip
    path, warnings = patients.add_patient(d, fields)
    if not quiet:
        for w in warnings:
            err(w)
        err(f"added {patient_id} ({d.relative(path)})")


@patient_app.command("list")
def list_(
    ctx: typer.Context,
    data: DataDirOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    bom: BomOpt = False,
    quiet: QuietOpt = False,
    wide: WideOpt = False,
) -> None:  # fmt: skip
    """List patients with their program, conditions, consent and care plan."""
    from ccmcli.actions.patients import LIST_COLUMNS, patient_list

    f = fmt(format, output)
    d = data_dir(ctx, data)
    dest = destination(ctx, f, output, d, bom=bom, quiet=quiet, sheet="patients")
    listing = patient_list(d)
    if f is Format.table:
        if not quiet:
            from ccmcli.cli.table_views import patients_table

            patients_table(listing.rows(), wide)
    else:
        if f is Format.xlsx:
            dest.heading = [listing.practice]
        emit(f, json_obj=listing.as_dict(), header=LIST_COLUMNS, rows=listing.rows(), dest=dest)
    report_problems(listing.problems, quiet)


@patient_app.command("show")
def show(
    ctx: typer.Context,
    patient_id: Annotated[str, typer.Argument(metavar="ID", autocompletion=patient_ids)],
    month: MonthOpt = None,
    data: DataDirOpt = None,
    format: ViewFormatOpt = None,
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
    elif not quiet:
        text_views.patient_view(view, wide)
    report_problems(view.problems, quiet=True)
