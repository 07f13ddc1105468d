"""A listing as an .xlsx workbook whose every cell has its type (contract 2, `--format xlsx`).

A CSV opened in a spreadsheet is guessed at: `00123` becomes 123, `1E5` 100000, `02` 2 and an
amount loses its cents. In an .xlsx file each cell says what it is, so nothing is guessed:
identifiers, codes and free text are text cells (never a number, a date or a formula), minutes
and units integers, amounts numbers shown with two decimals, dates dates shown `YYYY-MM-DD`,
instants text with their offset. A column's type follows from its name, the same names the
CSV header and the JSON use, so one table here types every listing.

XlsxWriter writes the file (imported only here, only for xlsx).
"""

import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

INTEGERS = frozenset({
    "minutes", "units", "line", "days_left", "elapsed_minutes", "minutes_needed", "cap",
    "months_billable", "patients", "minutes_each", "threshold_minutes", "step_minutes",
})  # fmt: skip
AMOUNTS = frozenset({"amount", "charge", "adds", "total_amount", "patient_share",
                     "amount_at_stake"})  # fmt: skip
DATES = frozenset({"date", "date_of_service", "birth_date", "consent", "care_plan",
                   "consent_date", "care_plan_established", "released"})  # fmt: skip
# other numbers, with the decimals they are published with
DECIMALS = {"rvu": "0.00", "conversion_factor": "0.0000"}
WIDEST = 60  # characters; longer text (notes) wraps in the cell's column no further


def column_type(name: str) -> str:
    """`int`, `amount`, `date`, a number format for other decimals, or `text`."""
    if name in INTEGERS or name.endswith(("_minutes", "_units", "_months_billable")):
        return "int"
    if name in AMOUNTS or name.endswith("_amount"):
        return "amount"
    if name in DATES:
        return "date"
    return DECIMALS.get(name, "text")


def typed(kind: str, value: object) -> object:
    """The cell's value in its column's type; None for an empty cell; text when the value is
    not of the type (a spreadsheet then shows exactly what ccm had)."""
    if value is None or value == "":
        return None
    try:
        if kind == "int":
            return (
                value if isinstance(value, int) and not isinstance(value, bool) else int(str(value))
            )
        if kind == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        if kind != "text":
            return float(Decimal(str(value)))
    except (ValueError, InvalidOperation):
        pass
    return str(value)


def workbook_bytes(
    sheet: str, heading: Sequence[str], header: Sequence[str], rows: Iterable[Sequence[object]],
    written: datetime | None = None,
) -> bytes:  # fmt: skip
    """One sheet: a title row (practice, month, when written), the header bold and frozen with
    an autofilter, then one row per listed row; columns as wide as their values."""
    import xlsxwriter

    from ccmcli.models.months import now

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False,
                                     "strings_to_formulas": False, "strings_to_urls": False,
                                     "default_date_format": "yyyy-mm-dd"})  # fmt: skip
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    formats = {"amount": book.add_format({"num_format": "0.00"}),
               "date": book.add_format({"num_format": "yyyy-mm-dd"}),
               "int": book.add_format({"num_format": "0"}),
               "text": book.add_format({"num_format": "@"})}  # fmt: skip
    kinds = [column_type(h) for h in header]
    for kind in kinds:
        if kind not in formats:
            formats[kind] = book.add_format({"num_format": kind})
    stamp = (written or now()).isoformat(timespec="seconds")
    ws.write_string(0, 0, " · ".join([*heading, f"written {stamp}"]), bold)
    widths = [len(h) for h in header]
    for c, name in enumerate(header):
        ws.write_string(1, c, name, bold)
    r = 1
    for r, row in enumerate(rows, start=2):
        for c, (kind, raw) in enumerate(zip(kinds, row, strict=True)):
            value = typed(kind, raw)
            if value is None:
                ws.write_blank(r, c, None, formats[kind])
                continue
            if isinstance(value, str):
                ws.write_string(r, c, value, formats["text"])
                shown = len(value)
            elif isinstance(value, date):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day),
                                  formats["date"])  # fmt: skip
                shown = 10
            else:
                ws.write_number(r, c, value, formats[kind])
                shown = len(f"{value:.2f}") if kind == "amount" else len(str(value))
            widths[c] = max(widths[c], shown)
    for c, width in enumerate(widths):
        ws.set_column(c, c, min(width, WIDEST) + 2)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(r, 1), max(len(header) - 1, 0))
    book.close()
    return out.getvalue()
