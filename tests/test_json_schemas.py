"""Contract 2: one vocabulary in every JSON output, and `ccm schema COMMAND` describing it.

Every command's real `--format json` output, on the example clinic and on the broken one, is
validated against the schema `ccm schema` prints for it, and walked for the shared names: the
same name is the same thing, with the same type, in every command.
"""

import json
import re

import jsonschema
import pytest

from helpers import example_copy

NOW = "2026-11-26T10:00:00-06:00"
MONTH = re.compile(r"^\d{4}-\d{2}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)$")


def run_json(cli, *args) -> object:
    result = cli(*args, "-f", "json")
    assert result.exit_code in (0, 1), (args, result.stdout, result.stderr)
    return json.loads(result.stdout)


def clinic_outputs(cli, root) -> list[tuple[str, object]]:
    """(schema name, output) for every command with a JSON form, run on `root` in a sequence
    that gives each its data (a timer to stop, an entry to void, a month to verify)."""
    d = ("-d", root)
    out = [
        ("check", run_json(cli, *d, "check", "--month", "2026-10")),
        ("worklist", run_json(cli, *d, "worklist", "--month", "2026-11")),
        ("entries", run_json(cli, *d, "entries", "--month", "2026-10")),
        ("patient list", run_json(cli, *d, "patient", "list")),
        ("compare", run_json(cli, *d, "compare", "--month", "2026-10", "--months", "2")),
        ("validate", run_json(cli, *d, "validate")),
        ("rules", run_json(cli, *d, "rules")),
        ("rules CODE", run_json(cli, *d, "rules", "99491")),
        ("rules CODE", run_json(cli, *d, "rules", "G0557")),
        ("rules CODE", run_json(cli, *d, "rules", "99484")),  # another service's page (A11)
        *(("rules CODE", run_json(cli, *d, "rules", c)) for c in ("G0570", "99458", "G0568")),
    ]
    valid = [p["patient_id"] for p in out[3][1]["patients"]]
    out.append(("check", run_json(cli, *d, "check", "--month", "2026-11", *valid[-2:])))
    for pid in [*valid[:3], "P0006", "P0011"]:
        if pid in valid:
            out.append(("patient show", run_json(cli, *d, "patient", "show", pid, "-m", "2026-10")))
            out.append(("explain", run_json(cli, *d, "explain", pid, "--month", "2026-10")))
    return out


def writing_outputs(cli, root, pid: str) -> list[tuple[str, object]]:
    d = ("-d", root)
    out = [("export", run_json(cli, *d, "export", "--month", "2026-10", "--force"))]
    out.append(("export", run_json(cli, *d, "export", "--month", "2026-10", "--reprint")))
    logged = run_json(cli, *d, "log", pid, "7", "--staff", "rn.json", "--note", "=1+1")
    out.append(("log", logged))
    out.append(("void", run_json(cli, *d, "void", logged["entry"]["id"], "--reason", "test")))
    out.append(("log", run_json(cli, *d, "log", pid, "20", "--service", "bhi", "--staff", "rn")))
    out.append(("explain", run_json(cli, *d, "explain", pid)))  # with the bhi minutes (A16)
    out.append(("start", run_json(cli, *d, "start", pid, "--staff", "rn.json")))
    out.append(("status", run_json(cli, *d, "status")))
    return out


def timer_stop(cli, root, monkeypatch) -> object:
    monkeypatch.setenv("CCM_NOW", "2026-11-26T10:25:00-06:00")
    return run_json(cli, "-d", root, "stop", "--staff", "rn.json")


def close_outputs(cli, root) -> list[tuple[str, object]]:
    d = ("-d", root)
    return [
        ("close", run_json(cli, *d, "close", "2026-10")),
        ("close --verify", run_json(cli, *d, "close", "--verify", "2026-10")),
        ("reopen", run_json(cli, *d, "reopen", "2026-10", "--reason", "late note")),
    ]


@pytest.fixture
def every_output(cli, tmp_path, monkeypatch) -> list[tuple[str, object]]:
    """Every JSON output of the example clinic, then of the broken clinic."""
    monkeypatch.setenv("CCM_NOW", NOW)
    outputs = []
    for name in ("clinic", "broken"):
        root = example_copy(name, tmp_path / name)
        monkeypatch.setenv("CCM_NOW", NOW)
        outputs += clinic_outputs(cli, root)
        listed = run_json(cli, "-d", root, "patient", "list")["patients"]
        outputs += writing_outputs(cli, root, listed[-1]["patient_id"])
        outputs.append(("stop", timer_stop(cli, root, monkeypatch)))
        if name == "clinic":
            outputs += close_outputs(cli, root)
    return outputs


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict]:
    from typer.testing import CliRunner

    from ccmcli.cli import app
    from ccmcli.reports.json_shapes import OUTPUTS

    runner = CliRunner()
    got = {}
    for name in OUTPUTS:
        result = runner.invoke(app, ["schema", *name.split()])
        assert result.exit_code == 0, result.output
        got[name] = json.loads(result.stdout)
    return got


def test_every_output_validates_against_its_schema(every_output, schemas):
    names = set()
    for name, doc in every_output:
        names.add(name)
        jsonschema.Draft202012Validator.check_schema(schemas[name])
        errors = list(jsonschema.Draft202012Validator(schemas[name]).iter_errors(doc))
        assert errors == [], (name, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]])
        if isinstance(doc, dict):  # status is the one list (contract 7)
            version = schemas[name]["properties"]["schema"]
            assert doc["schema"] in (version.get("const"), *version.get("enum", ())), name
    from ccmcli.reports.json_shapes import OUTPUTS

    assert names == set(OUTPUTS)  # every schema is tried on real output


def test_the_schema_holds_what_a_table_shows(schemas):
    """Fields the tables show are in the schema, so the JSON cannot lose them silently."""
    wl = schemas["worklist"]["$defs"]["WorklistPatient"]["required"]
    assert {"minutes", "minutes_needed", "adds", "days_left", "next"} <= set(wl)
    assert set(schemas["worklist"]["$defs"]["WorklistSummary"]["required"]) == {
        "patients", "minutes_needed", "amount_at_stake"}  # fmt: skip
    cmp = schemas["compare"]["$defs"]["ComparedPatient"]["required"]
    assert {"name", "best", "enrolled", "programs"} <= set(cmp)
    assert "problems" in schemas["compare"]["required"]


def _walk(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, (*path, i))


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _codes(v) -> bool:
    return isinstance(v, list) and all(
        isinstance(c, dict) and isinstance(c.get("code"), str) and type(c.get("units")) is int
        for c in v
    )


def _findings(v) -> bool:
    return isinstance(v, list) and all(
        isinstance(f, dict) and {"rule", "message"} <= set(f) and isinstance(f["rule"], str)
        for f in v
    )


def _problems(v) -> bool:
    return isinstance(v, list) and all(
        isinstance(p, dict) and {"file", "line", "severity", "message"} <= set(p) for p in v
    )


# name -> what every value of that name must be, wherever it appears
SHARED = {
    "patient_id": lambda v: isinstance(v, str) and v != "",
    "name": lambda v: isinstance(v, str),
    "month": lambda v: isinstance(v, str) and MONTH.match(v),
    "program": lambda v: v is None or isinstance(v, str),
    "status": lambda v: isinstance(v, str),
    "amount": _is_number,
    "total_amount": _is_number,
    "date_of_service": lambda v: v is None or (isinstance(v, str) and DATE.match(v)),
    "date": lambda v: v is None or (isinstance(v, str) and DATE.match(v)),
    "birth_date": lambda v: isinstance(v, str) and DATE.match(v),
    "problems": _problems,
    "blockers": _findings,
    "warnings": _findings,
    "year": lambda v: type(v) is int,
    "units": lambda v: type(v) is int,
    "minutes_needed": lambda v: type(v) is int,
    "days_left": lambda v: type(v) is int,
    "line": lambda v: v is None or type(v) is int,
    "started": lambda v: isinstance(v, str) and INSTANT.match(v),
    "logged_at": lambda v: v is None or (isinstance(v, str) and INSTANT.match(v)),
    "closed_at": lambda v: v is None or (isinstance(v, str) and INSTANT.match(v)),
    "reopened_at": lambda v: isinstance(v, str) and INSTANT.match(v),
    "references": lambda v: isinstance(v, list) and all(isinstance(r, str) for r in v),
}
# Where a name is another thing by contract: compare's blockers are rule ids (contract 12), a
# summary counts (`warnings`: how many), `codes` in a summary are units per code (contract 3).
EXEMPT = {("programs", "*", "blockers"), ("summary", "warnings"), ("summary", "codes")}
MINUTES = {"clinical_staff", "practitioner", "not_counted", "counted"}


def _exempt(path: tuple) -> bool:
    tail = tuple("*" if isinstance(p, str) and p in ("ccm", "pcm", "apcm") else p
                 for p in path[-3:])  # fmt: skip
    return any(tail[-len(e) :] == e for e in EXEMPT)


def test_one_vocabulary_across_every_command(every_output):
    wrong = []
    for name, doc in every_output:
        for path, obj in _walk(doc):
            for key, value in obj.items():
                check = SHARED.get(key)
                if check is not None and not _exempt((*path, key)) and not check(value):
                    wrong.append(f"{name}: {'.'.join(map(str, (*path, key)))} = {value!r}")
                if key == "codes" and not _exempt((*path, key)) and not _codes(value):
                    wrong.append(f"{name}: {'.'.join(map(str, (*path, key)))} = {value!r}")
            if "patient_id" in obj and "status" in obj and "minutes" in obj:
                m = obj["minutes"]  # a patient-month's minutes: contract 3's object
                if not (isinstance(m, dict) and set(m) >= MINUTES):
                    wrong.append(f"{name}: {'.'.join(map(str, path))}.minutes = {m!r}")
    assert wrong == []


def test_a_patient_month_is_the_same_object_everywhere(cli, clinic, monkeypatch):
    """check, patient show, explain and log's status give one patient-month the same fields."""
    monkeypatch.setenv("CCM_NOW", NOW)
    checked = run_json(cli, "-d", clinic, "check", "--month", "2026-10", "P0006")["patients"][0]
    shown = run_json(cli, "-d", clinic, "patient", "show", "P0006", "--month", "2026-10")
    explained = run_json(cli, "-d", clinic, "explain", "P0006", "--month", "2026-10")
    for other in (shown, explained):
        assert {k: other[k] for k in checked} == checked
    wl = run_json(cli, "-d", clinic, "worklist", "--month", "2026-11")["patients"]
    now = run_json(cli, "-d", clinic, "check", "--month", "2026-11")["patients"]
    by_id = {p["patient_id"]: p for p in now}
    for p in wl:
        assert p["minutes"] == by_id[p["patient_id"]]["minutes"]
        assert p["status"] == by_id[p["patient_id"]]["status"]


def test_schema_lists_the_commands_and_refuses_others(cli):
    listed = cli("schema")
    assert listed.exit_code == 0 and "ccm.check/1" in listed.stdout
    assert cli("schema", "nonsense").exit_code == 2
    check = json.loads(cli("schema", "check").stdout)
    assert check["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert check["properties"]["schema"]["const"] == "ccm.check/1"


def test_schema_is_built_from_the_definitions_the_output_uses():
    """The builders are annotated with the shapes `ccm schema` prints."""
    import typing

    from ccmcli.reports import check_views, json_shapes, practice_month

    def returns(fn):
        return typing.get_type_hints(fn, localns=vars(json_shapes))["return"]

    assert returns(practice_month.judgement_dict) is json_shapes.PatientMonth
    assert returns(practice_month.MonthReport.as_dict) is json_shapes.CheckOutput
    assert returns(check_views.Worklist.as_dict) is json_shapes.WorklistOutput
    assert returns(check_views.Explanation.as_dict) is json_shapes.ExplainOutput


def _undeclared(node, schema: dict, root: dict, path: tuple = ()) -> list[str]:
    """Keys of `node` that its schema does not name, at any depth (a `dict[str, X]` names none:
    its keys are data)."""
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    for option in schema.get("anyOf", ()):
        if jsonschema.Draft202012Validator(option | {"$defs": root.get("$defs", {})}).is_valid(
            node
        ):
            return _undeclared(node, option, root, path)
    out = []
    if isinstance(node, dict) and "properties" in schema:
        for key, value in node.items():
            if key not in schema["properties"]:
                out.append(".".join(map(str, (*path, key))))
            else:
                out += _undeclared(value, schema["properties"][key], root, (*path, key))
    elif isinstance(node, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, value in node.items():
            out += _undeclared(value, schema["additionalProperties"], root, (*path, key))
    elif isinstance(node, list) and isinstance(schema.get("items"), dict):
        for i, value in enumerate(node):
            out += _undeclared(value, schema["items"], root, (*path, i))
    return out


def test_every_field_ccm_writes_is_in_its_schema(every_output, schemas):
    """Readers may meet fields added later, but ccm's own output names none its schema lacks:
    a field one command adds to a shared object is described where that object is."""
    missing = set()
    for name, doc in every_output:
        missing |= {f"{name}: {p}" for p in _undeclared(doc, schemas[name], schemas[name])}
    assert sorted(missing) == [], sorted(missing)
