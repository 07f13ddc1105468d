"""ccm-rules A18 as properties: whatever is logged, voided, exported and corrected, in any order,
a patient-month is billed as one claim, and the ledger's claim is what the data last gave."""

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccmcli.actions import export
from ccmcli.store import ledger
from ccmcli.store.datadir import DataDir
from test_export import PREV, add_patient, day, log, rows, void

STEP = st.one_of(
    st.tuples(st.just("log"), st.sampled_from(["P1", "P2"]), st.integers(1, 45),
              st.integers(1, 28), st.sampled_from(["clinical_staff", "practitioner"])),
    st.tuples(st.just("void"), st.sampled_from(["P1", "P2"])),
    st.just(("export",)),
    st.just(("fix",)),
)  # fmt: skip


def judged_claims(data: DataDir) -> dict[str, list[tuple]]:
    """What an export would set against the ledger now: each patient's claim lines by key."""
    from ccmcli.loader import load
    from ccmcli.reports import practice_month

    practice = load(data)
    report = practice_month.judge_month(practice, PREV)
    standing = ledger.claims(ledger.read_ledger(data, PREV))
    out = {}
    for j in report.judgements:
        lines = export.judged_claim(j, standing.get(j.patient.id), practice.settings)
        out[j.patient.id] = sorted(map(export.claim_key, lines))
    return out


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(STEP, max_size=9))
def test_one_claim_per_patient_month_whatever_happens(steps):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "patients").mkdir()
        (root / "ccm.yaml").write_text(
            "practice: T\ntimezone: America/Chicago\nbilling_npi: '1234567893'\n"
        )
        add_patient(root, "P1")
        add_patient(root, "P2")
        data = DataDir(root)
        entries: dict[str, list[tuple[str, str]]] = {"P1": [], "P2": []}
        for step in steps:
            before = ledger.claims(ledger.read_ledger(data, PREV))
            if step[0] == "log":
                _, pid, minutes, d, role = step
                entries[pid].append((log(root, pid, minutes, day(d), role=role), day(d)))
            elif step[0] == "void" and entries[step[1]]:
                eid, d = entries[step[1]].pop()
                void(root, eid, step[1], d)
            elif step[0] in ("export", "fix"):
                fixing = step[0] == "fix"
                expected = judged_claims(data)
                written: list[str] = []
                outcome = export.export_month(data, str(PREV), written.append, corrections=fixing)
                out = rows(written[0]) if written else []
                for pid in {x["patient_id"] for x in out}:
                    mine = [x for x in out if x["patient_id"] == pid]
                    standing = before.get(pid)
                    if not fixing:  # never an additive line: only claims never exported stand
                        assert standing is None or standing.voided
                    else:
                        assert standing is not None and not standing.voided
                        assert {x["frequency"] for x in mine} <= {"7", "8"}
                    if {x.get("frequency") for x in mine} != {"8"}:  # the whole claim at once
                        keys = sorted((x["code"], x["units"], x["date_of_service"]) for x in mine)
                        assert keys == [(k[0], k[1], k[2]) for k in expected[pid]]
                reported = {c.patient_id for c in outcome.plan.corrections}
                assert len(reported) == len(outcome.plan.corrections)  # one per patient-month
                if fixing:  # corrected: the next export neither reports nor writes them
                    again = export.export_month(data, str(PREV), lambda _: None, dry_run=True)
                    assert again.plan.corrections == []
                    assert not {x.patient_id for x in again.lines} & reported
        # the ledger's claims are those written last for each patient
        standing = ledger.claims(ledger.read_ledger(data, PREV))
        for claim in standing.values():
            assert claim.voided or claim.lines
