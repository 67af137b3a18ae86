"""The encoding of a shapefile's text, settled before GDAL reads it, and text that is in none.

GDAL trusts a ``.cpg`` it can spell and ignores the rest: ``ANSI 1250``, which Slovenian
software writes, reaches it as no encoding at all, and the DBF's bytes come through raw. So the
loader reads the ``.cpg`` (or, failing it, the DBF's language-driver byte) itself and always
tells GDAL the encoding. Text that still is not what it claims to be refuses its row, naming the
column, instead of the whole load failing in the database.
"""

from __future__ import annotations

import re

import pyarrow as pa

# Slovenian authorities wrote shapefiles in Windows-1250 long before .cpg files existed.
DEFAULT_SHAPEFILE_ENCODING = "CP1250"
CODE_PAGES = {
    *("437", "737", "775", "850", "852", "855", "857", "860", "861", "862", "863", "865"),
    *("866", "869", "874", "932", "936", "949", "950"),
    *(str(n) for n in range(1250, 1259)),
}
# dBase language-driver ids (DBF header byte 29) and their code pages; 0x57, "ANSI", means the
# writer's Windows code page, which the file does not say, so it is left to the default.
LANGUAGE_DRIVERS = {
    0x01: "437", 0x02: "850", 0x03: "1252", 0x08: "865", 0x09: "437", 0x0A: "850",
    0x0B: "437", 0x0D: "437", 0x0E: "850", 0x0F: "437", 0x10: "850", 0x11: "437",
    0x12: "850", 0x13: "932", 0x14: "850", 0x15: "437", 0x16: "850", 0x17: "865",
    0x18: "437", 0x19: "437", 0x1A: "850", 0x1B: "437", 0x1C: "863", 0x1D: "850",
    0x1F: "852", 0x22: "852", 0x23: "852", 0x24: "860", 0x25: "850", 0x26: "866",
    0x37: "850", 0x40: "852", 0x4D: "936", 0x4E: "949", 0x4F: "950", 0x50: "874",
    0x58: "1252", 0x59: "1252", 0x64: "852", 0x65: "866", 0x66: "865", 0x67: "861",
    0x6A: "737", 0x6B: "857", 0x6C: "863", 0x78: "950", 0x79: "949", 0x7A: "936",
    0x7B: "932", 0x7C: "874", 0x86: "737", 0x87: "852", 0x88: "857", 0xC8: "1250",
    0xC9: "1251", 0xCA: "1254", 0xCB: "1253", 0xCC: "1257",
}  # fmt: skip
LANGUAGE_DRIVER_OFFSET = 29


def encoding_named(text: str) -> str | None:
    """The encoding a ``.cpg`` names, as GDAL spells it (``CP1250``, ``UTF-8``), or None.

    Accepts the spellings found in the wild: ``ANSI 1250``, ``1250``, ``cp1250``,
    ``windows-1250``, ``UTF-8``, ``65001``, ``88591``, ``28592``, ``ISO 8859-2``, ``latin2``.
    """
    compact = re.sub(r"[\s_.-]", "", text.lower())
    if compact in ("utf8", "65001"):
        return "UTF-8"
    if match := re.fullmatch(r"2859([1-9])|2860([35])", compact):  # Windows' ids of ISO 8859
        return f"ISO-8859-{match[1] or int(match[2]) + 10}"
    if match := re.fullmatch(r"(?:iso)?8859(\d{1,2})", compact):
        return f"ISO-8859-{int(match[1])}" if 1 <= int(match[1]) <= 16 else None
    if match := re.fullmatch(r"latin([12])", compact):
        return f"ISO-8859-{match[1]}"
    match = re.fullmatch(r"(?:ansi|windows|win|cp|ms|ibm|oem|dos)*(\d{3,4})", compact)
    return f"CP{match[1]}" if match and match[1] in CODE_PAGES else None


def shapefile_encoding(cpg: str | None, dbf_header: bytes, cpg_name: str) -> tuple[str, str | None]:
    """The encoding of a shapefile's text, and a note when its ``.cpg`` was ignored.

    The ``.cpg`` wins when it names an encoding; then the DBF's language driver; then cp1250.
    """
    named = encoding_named(cpg) if cpg is not None else None
    if named:
        return named, None
    driver = dbf_header[LANGUAGE_DRIVER_OFFSET] if len(dbf_header) > LANGUAGE_DRIVER_OFFSET else 0
    encoding = f"CP{LANGUAGE_DRIVERS[driver]}" if driver in LANGUAGE_DRIVERS else None
    encoding = encoding or DEFAULT_SHAPEFILE_ENCODING
    if cpg is None:
        return encoding, None
    shown = cpg.strip()[:40]
    return encoding, (
        f"warning: {cpg_name} names no encoding ({shown!r}); its text was read as {encoding}"
        " (--encoding sets another)"
    )


def undecodable_rows(batch: pa.RecordBatch, encoding: str, fix: str) -> tuple[pa.RecordBatch, dict]:
    """The batch with text that is no valid UTF-8 made readable, and those rows' reasons
    (each ending with ``fix``, what to do about it).

    GDAL hands text on as UTF-8; bytes that are not mean the file's text is not in the
    encoding it was read as. Such a value is kept in the rejects file with the bytes that
    could not be decoded shown as U+FFFD.
    """
    reasons: dict[int, str] = {}
    columns = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            try:
                column.validate(full=True)
            except pa.ArrowInvalid:
                column = _mended(column, name, f"is not {encoding} text ({fix})", reasons)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema), reasons


def _mended(column: pa.Array, name: str, why: str, reasons: dict[int, str]) -> pa.Array:
    binary = pa.large_binary() if pa.types.is_large_string(column.type) else pa.binary()
    values = []
    for row, raw in enumerate(column.view(binary).to_pylist()):
        try:
            values.append(None if raw is None else raw.decode("utf-8"))
        except UnicodeDecodeError:
            values.append(raw.decode("utf-8", errors="replace"))
            reasons.setdefault(row, f"{name}: {values[-1][:40]!r} {why}")
    return pa.array(values, type=column.type)
