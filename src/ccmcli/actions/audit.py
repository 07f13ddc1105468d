"""`ccm audit`: writing packets (reports/audit_packet.py builds them, audit_render.py renders).

Every file is written whole (temp file, fsync, rename), 0600, in folders made 0700: a packet
holds a patient's name, birth date, MBI and notes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ccmcli.models.errors import CcmError
from ccmcli.reports import audit_packet, audit_render
from ccmcli.store import fileio
from ccmcli.store.datadir import DataDir

HTML_SUFFIXES = (".html", ".htm")
MD_SUFFIXES = (".md", ".markdown")


def packet_text(data: DataDir, patient_id: str, month: str | None, kind: str) -> str:
    """One packet as `html` or `md` text."""
    return packet_and_month(data, patient_id, month, kind)[0]


def packet_and_month(
    data: DataDir, patient_id: str, month: str | None, kind: str
) -> tuple[str, str]:
    """One packet as `html` or `md` text, and the month it is about (`month` None: the current
    month at the practice, which the caller says)."""
    packet = audit_packet.one_packet(data, patient_id, month)
    render = audit_render.render_html if kind == "html" else audit_render.render_markdown
    return render(packet.body), str(packet.body["month"])


def kind_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in MD_SUFFIXES:
        return "md"
    raise CcmError(f"-o {path.name}: name the packet FILE.html or FILE.md", 2)


def write_file(path: Path, text: str) -> None:
    try:
        fileio.atomic_write(path, text)
    except OSError as exc:
        raise CcmError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None


@dataclass
class Written:
    month: str
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def write_all(
    data: DataDir, month_text: str | None, out: Path,
    progress: Callable[[int], Callable[[], None]] | None = None,
) -> Written:  # fmt: skip
    """One HTML packet per billed patient-month in `out`, and index.html listing them.

    `progress(total)` returns a function called once per packet written (a progress bar).
    """
    if out.exists() and not out.is_dir():
        raise CcmError(f"-o {out}: with --all, -o names a folder", 2)
    month, ids, skipped, packets = audit_packet.month_packets(data, month_text)
    fileio.make_dirs(out)
    step = progress(len(ids)) if progress else (lambda: None)
    rows, result = [], Written(str(month), skipped=skipped)
    generated = ""
    for packet in packets:
        body = packet.body
        name = f"{body['patient']['id']}-{month}.html"
        write_file(out / name, audit_render.render_html(body))
        b = body["billing"]
        rows.append({"patient_id": body["patient"]["id"], "name": body["patient"]["name"],
                     "status": b["status"], "codes": b["codes"], "amount": b["amount"],
                     "date_of_service": b["date_of_service"], "exported": len(body["exported"]),
                     "file": name})  # fmt: skip
        result.files.append(name)
        generated = body["generated_at"]
        step()
    practice = _practice(data)
    index = audit_render.render_index(str(month), practice, rows, skipped, generated)
    write_file(out / "index.html", index)
    result.files.append("index.html")
    return result


def _practice(data: DataDir) -> str:
    from ccmcli.loader import load

    return load(data, patient_ids=()).settings.practice
