"""The shape of every command's `--format json` output, one definition per object (contract 2).

The functions that build the JSON are annotated with these types, `ccm schema COMMAND` prints
the JSON Schema pydantic derives from them, and the tests validate the real output of every
command against that schema: the output, its schema and its documentation cannot drift apart.

One vocabulary: the same name is the same thing everywhere (`patient_id`, `name`, `month`,
`program`, `status` a string, `codes` a list of `{code, units}`, `minutes` the object of
`check`, `amount` a number, `date_of_service`, `problems`, `blockers`/`warnings` as
`{rule, message}`); dates `YYYY-MM-DD`, instants ISO 8601 with their offset.

Each output object says its schema in `schema` (`ccm.check/1`); a change that breaks a schema
is a new version there. Objects accept fields added later (extend freely): a reader must ignore
what it does not know. This module is imported only by `ccm schema` and the tests (the builders
import it for type checking alone), so no command pays for it at start-up.
"""

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

Date = str  # YYYY-MM-DD
Instant = str  # ISO 8601 with offset
Status = Literal["billable", "below_threshold", "blocked", "no_time", "error"]
Role = Literal["clinical_staff", "practitioner", "any"]
Program = Literal["ccm", "pcm", "apcm"]


class CodeUnits(TypedDict):
    code: str
    units: int


class RuleFinding(TypedDict):
    """A blocker or a warning: the rule id and what it means here."""

    rule: str
    message: str


class Problem(TypedDict):
    """A problem of a file (contract 4): where it is and what is wrong."""

    file: str | None
    line: int | None
    severity: Literal["error", "warning"]
    message: str


class Minutes(TypedDict):
    """Contract 3 `minutes`: the month's minutes of the patient's program."""

    clinical_staff: int
    practitioner: int
    not_counted: int
    other_services: dict[str, int]
    counted: int


class Alternative(TypedDict):
    codes: list[CodeUnits]
    amount: float
    track: NotRequired[str]
    date_of_service: NotRequired[Date | None]


class Next(TypedDict):
    """The fewest further minutes that would raise the amount, and whose they are."""

    codes: list[CodeUnits]
    minutes_needed: int
    role: Role


class ServiceMinutes(TypedDict):
    counted: int
    not_counted: int


class ServiceMonth(TypedDict):
    """One other billed service of the patient-month (ccm-rules A16)."""

    service: str
    status: str
    minutes: ServiceMinutes
    codes: list[CodeUnits]
    date_of_service: Date | None
    amount: float
    blockers: list[RuleFinding]
    warnings: list[RuleFinding]
    next: Next | None
    provisional: NotRequired[bool]  # A13: a higher tier still reachable before the month ends
    note: NotRequired[str]  # a policy the verdict rests on, in words (A12: ccm's, not CMS's)


class NotAssessed(TypedDict):
    """A15, A10: minutes of a service ccm reports and never bills, and why."""

    service: str
    minutes: int
    reason: str
    codes_not_assessed: list[str]  # the codes it would take (`codes` is `{code, units}`)
    rule: str


class PatientMonth(TypedDict):
    """One patient's month as `check` judges it (contract 3); every command that shows a
    patient-month uses these fields."""

    patient_id: str
    name: str
    program: Program | Literal[""]  # "": status error, the file unreadable (contract 3)
    status: Status
    minutes: Minutes
    codes: list[CodeUnits]
    date_of_service: Date | None
    amount: float
    alternatives: list[Alternative]
    blockers: list[RuleFinding]
    warnings: list[RuleFinding]
    next: Next | None
    # the codes without the minutes duplicate and overlap warnings doubt, when they differ
    codes_without_doubted_minutes: NotRequired[list[CodeUnits] | None]
    services: NotRequired[list[ServiceMonth]]
    total_amount: NotRequired[float]
    patient_share: NotRequired[float]
    not_assessed: NotRequired[list[NotAssessed]]


class Summary(TypedDict):
    """Contract 3 `summary`: the patients listed by status, their amount and units per code."""

    patients: int
    billable: int
    below_threshold: int
    blocked: int
    no_time: int
    error: NotRequired[int]
    amount: float
    codes: dict[str, int]
    total_amount: NotRequired[float]
    patient_share: NotRequired[float]


class CheckOutput(TypedDict):
    schema: Literal["ccm.check/1"]
    month: str
    provisional: bool
    rules: str  # the rules table in force, by its year
    patients: list[PatientMonth]
    problems: list[Problem]
    summary: Summary
    rules_note: NotRequired[str]


class WorklistPatient(TypedDict):
    patient_id: str
    name: str
    program: Program
    status: Status
    minutes: Minutes
    minutes_needed: int
    role: Role
    next: Next
    adds: float  # what reaching `next` adds to the month's amount
    days_left: int
    service: NotRequired[str]  # a line for another service (A16): which, and what else it needs
    needs: NotRequired[Any]
    service_status: NotRequired[str]  # that service's own (`status`: the patient-month's)
    service_minutes: NotRequired[ServiceMinutes]  # its minutes (`minutes`: the program's)


class WorklistSummary(TypedDict):
    patients: int
    minutes_needed: int
    amount_at_stake: float


class WorklistOutput(TypedDict):
    schema: Literal["ccm.worklist/1"]
    month: str
    days_left: int
    patients: list[WorklistPatient]
    problems: list[Problem]
    summary: WorklistSummary


class Entry(TypedDict):
    """One row of a month log (contract 1), with where it is and whether a void cancels it."""

    id: str
    patient_id: str
    date: Date
    minutes: int | None  # the entry's minutes (none on a void row); a patient-month's: `Minutes`
    role: str
    staff: str
    activity: str
    start: str | None
    end: str | None
    note: str
    logged_at: Instant | None
    voids: str | None
    voided: bool
    file: str
    line: int
    service: str | None


class ListedEntry(Entry):
    voided_by: str | None


class EntriesOutput(TypedDict):
    schema: Literal["ccm.entries/1"]
    month: str
    file: str
    entries: list[ListedEntry]
    problems: list[Problem]


class Condition(TypedDict):
    code: str
    description: str | None
    chronic: bool


class Consent(TypedDict):
    date: Date
    method: str
    obtained_by: str | None
    revoked: Date | None


class CarePlan(TypedDict):
    established: Date
    revised: list[Date]


class InitiatingVisit(TypedDict):
    date: Date
    type: str


class ProgramChange(TypedDict):
    month: str
    program: Program


class ComplexMonth(TypedDict):
    month: str
    mdm: str
    care_plan_revised: NotRequired[Date | None]


class BhiEnrollment(TypedDict):
    """A11: the patient's behavioral health integration block."""

    conditions: list[str]
    consent: Consent | None
    care_plan: CarePlan | None


class MonitoringEnrollment(TypedDict):
    """A13, A14: the `rpm:` or `rtm:` block."""

    consent: Consent | None


class ListedPatient(TypedDict):
    patient_id: str
    name: str
    program: Program
    conditions: list[Condition]
    consent: Consent | None
    care_plan: CarePlan | None


class PatientListOutput(TypedDict):
    schema: Literal["ccm.patient_list/1"]
    patients: list[ListedPatient]
    problems: list[Problem]


class PatientRecord(TypedDict):
    """The patient's file as written (contract 1), without its id (`patient_id` above it)."""

    name: str
    birth_date: Date
    mbi: str | None
    billing_npi: NotRequired[str | None]
    program: Program
    program_changes: NotRequired[list[ProgramChange]]
    qmb: NotRequired[bool]
    principal_condition: NotRequired[str | None]
    conditions: list[Condition]
    consent: Consent | None
    initiating_visit: NotRequired[InitiatingVisit | None]
    care_plan: CarePlan | None
    complex_months: NotRequired[list[ComplexMonth]]
    discharged: NotRequired[Date | None]
    bhi: NotRequired[BhiEnrollment | None]
    cocm_months: NotRequired[list[str]]
    rpm: NotRequired[MonitoringEnrollment | None]
    rtm: NotRequired[MonitoringEnrollment | None]


class PatientShowOutput(PatientMonth):
    schema: Literal["ccm.patient_show/1"]
    month: str
    provisional: bool
    rules: str
    record: PatientRecord
    problems: list[Problem]


class Gate(TypedDict):
    rule: str
    passed: bool
    fact: str
    ref: NotRequired[str]  # the rule's id in ccm-rules.md (`E-01`), as narrow tables show it


class Track(TypedDict):
    track: str
    codes: list[CodeUnits]
    minutes: int
    references: list[str]  # where the rules say it: `A1`, `T-01`, `ccm-rules 2`
    why: str


class ExplainedEntry(Entry):
    counted: bool
    why_not: str | None


class CodeWhy(TypedDict):
    code: str
    why: str


class ServiceExplained(ServiceMonth):
    """A16 in explain: one other service's verdict with its gates and every entry."""

    code: str  # the code its minutes are judged for (99484, G0570, 99457, ...)
    gates: list[Gate]
    entries: list[ExplainedEntry]
    not_billed: list[CodeWhy]


class ExplainOutput(PatientMonth):
    schema: Literal["ccm.explain/1"]
    month: str
    rules: str
    rules_source: str
    program_began: str | None  # YYYY-MM: the program's first month, when it changed (A8)
    gates: list[Gate]
    track: Track | None
    entries: list[ExplainedEntry]
    problems: list[Problem]
    service_details: NotRequired[list[ServiceExplained]]


class ProgramTotal(TypedDict):
    amount: float
    months_billable: int
    blockers: list[str]  # contract 12: the sorted rule ids that blocked it in any month


class ComparedPatient(TypedDict):
    patient_id: str
    name: str
    enrolled: Program
    best: Program | None
    programs: dict[str, ProgramTotal]


class CompareOutput(TypedDict):
    schema: Literal["ccm.compare/1"]
    months: list[str]
    patients: list[ComparedPatient]
    totals: dict[str, float]
    enrolled_total: float
    problems: list[Problem]


class ClaimLine(TypedDict):
    """One claim line (contract 5), the patient's name as `name`."""

    patient_id: str
    name: str
    birth_date: Date
    mbi: str | None
    billing_npi: str
    place_of_service: str
    date_of_service: Date
    code: str
    units: int
    charge: float
    dx1: str | None
    dx2: str | None
    dx3: str | None
    dx4: str | None


class ExportOutput(TypedDict):
    schema: Literal["ccm.export/1"]
    month: str
    lines: list[ClaimLine]


class Timer(TypedDict):
    """Contract 7 `ccm status --format json`: a list of these (the one output that is a list)."""

    staff: str
    patient_id: str
    started: Instant
    elapsed_minutes: int
    activity: str


StatusOutput = list[Timer]


class StartOutput(TypedDict):
    schema: Literal["ccm.start/1"]
    staff: str
    patient_id: str
    started: Instant
    role: str
    activity: str
    service: str | None


class RecordedOutput(TypedDict):
    """`ccm log` and `ccm void`: the row written and the patient's month after it."""

    schema: Literal["ccm.log/1", "ccm.void/1"]
    entry: Entry
    patient_month: PatientMonth | None
    messages: list[str]  # the warnings said on stderr, in words (findings are in `patient_month`)
    voided: NotRequired[Entry]
    service: NotRequired[ServiceMonth]  # `--service S`: that service's month-to-date (A16)


class StopOutput(TypedDict):
    schema: Literal["ccm.stop/1"]
    entries: list[RecordedOutput]


class ProblemCounts(TypedDict):
    errors: int
    warnings: int


class ValidateOutput(TypedDict):
    schema: Literal["ccm.validate/1"]
    problems: list[Problem]
    summary: ProblemCounts


class CloseOutput(TypedDict):
    schema: Literal["ccm.close/1"]
    month: str
    record: str
    sha256: str
    closed_by: str
    closed_at: Instant
    summary: dict[str, Any]


class Difference(TypedDict):
    patient_id: str | None
    field: str
    recorded: Any
    now: Any
    message: str


class CloseVerifyOutput(TypedDict):
    schema: Literal["ccm.close_verify/1"]
    month: str
    record: str | None
    closed_by: str | None
    closed_at: Instant | None
    matches: bool
    differences: list[Difference]
    record_problems: list[Problem]


class ReopenOutput(TypedDict):
    schema: Literal["ccm.reopen/1"]
    month: str
    record: str
    sha256: str
    reopened_by: str
    reopened_at: Instant
    reason: str


class CodeAmount(TypedDict):
    """A code's amount beside what it is computed from (A6)."""

    amount: float
    rvu: float
    conversion_factor: float
    rvu_file: str


class BaseCode(CodeAmount):
    code: str
    minutes: int  # the threshold, met in full


class AddonCode(CodeAmount):
    code: str
    minutes_each: int
    cap: int


class RuleTrack(TypedDict):
    program: Program
    track: str
    references: list[str]
    summary: str
    counts: str
    complex_month_only: bool
    base: BaseCode
    addon: AddonCode


class RuleLevel(CodeAmount):
    program: Literal["apcm"]
    level: int
    code: str
    references: list[str]
    summary: str
    min_conditions: int
    qmb: bool


class RuleService(CodeAmount):
    """A code of another monthly service (A11-A14); `when` says its time in words."""

    service: str
    references: list[str]
    summary: str
    code: str
    kind: str
    when: str
    cap: int
    cap_setting: NotRequired[str | None]
    program: NotRequired[str]
    minutes_setting: NotRequired[str | None]


class RuleGate(TypedDict):
    rule: str
    ref: str
    programs: list[str]
    source: str
    summary: str


class RvuFile(TypedDict):
    name: str
    released: str | None


class RulesOutput(TypedDict):
    schema: Literal["ccm.rules/1"]
    year: int
    rules: str
    conversion_factor: float
    rvu_file: RvuFile
    source: str
    tracks: list[RuleTrack]
    levels: list[RuleLevel]
    services: NotRequired[list[RuleService]]
    gates: list[RuleGate]
    note: NotRequired[str]


class YearAmount(TypedDict):
    year: int
    amount: float
    rvu: float
    conversion_factor: float
    rvu_file: str


# the code a code is billed with: `as` its base or add-on (a Python keyword, hence this form),
# `cap` a number or the ccm.yaml setting that holds it (`rpm_addon_cap`)
GoesWith = TypedDict("GoesWith", {"code": str, "as": str, "cap": int | str})


class Requirement(TypedDict):
    rule: str
    blocks_when: str
    source: str


class CodePageOutput(TypedDict):
    """`ccm rules CODE` (contract 11): a program code's page, or another service's (A11-A15)."""

    schema: Literal["ccm.rules_code/1"]
    code: str
    rules: str
    program: str  # the program, or the service whose code it is
    track: str
    kind: str  # base | addon | level | short | program_addon | not_billed
    pays_for: str
    whose_time: str
    threshold_minutes: int | None
    step_minutes: int | None
    cap: int | str | None
    goes_with: GoesWith | None
    requirements: list[Requirement]
    not_billed_with: list[CodeWhy]
    amounts: list[YearAmount]
    references: list[str]
    level: NotRequired[int]  # APCM: the level and when it applies (A8)
    when: NotRequired[str]
    complex_month_only: NotRequired[bool]
    billed: NotRequired[bool]  # another service's code: whether ccm bills it (A15: never)
    settings: NotRequired[str]
    policy: NotRequired[str]
    why_not_billed: NotRequired[str]
    note: NotRequired[str]  # another year's table stands in


# `ccm schema COMMAND`: the command words, the type of its JSON output.
OUTPUTS: dict[str, Any] = {
    "check": CheckOutput,
    "worklist": WorklistOutput,
    "entries": EntriesOutput,
    "patient list": PatientListOutput,
    "patient show": PatientShowOutput,
    "explain": ExplainOutput,
    "compare": CompareOutput,
    "export": ExportOutput,
    "status": StatusOutput,
    "start": StartOutput,
    "stop": StopOutput,
    "log": RecordedOutput,
    "void": RecordedOutput,
    "validate": ValidateOutput,
    "close": CloseOutput,
    "close --verify": CloseVerifyOutput,
    "reopen": ReopenOutput,
    "rules": RulesOutput,
    "rules CODE": CodePageOutput,
}


def schema_of(command: str) -> dict:
    """The JSON Schema (draft 2020-12) of `command`'s `--format json` output."""
    from pydantic import TypeAdapter

    shape = OUTPUTS[command]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **TypeAdapter(shape).json_schema(mode="serialization"),
            "title": f"{VERSIONS[command]}: ccm {command} --format json"}  # fmt: skip


# The schema each output names in its `schema` field (status, a list, names none).
VERSIONS = {c: f"ccm.{c.replace(' --', '_').replace(' CODE', '_code').replace(' ', '_')}/1"
            for c in OUTPUTS}  # fmt: skip
