"""PostGIS's extended WKB for a layer's column, made by rewriting WKB headers, not by encoding again.

Staged as EWKB of the layer's own type and SRID, rows go from the staging table into the layer as
they are: no ``ST_Multi`` and ``ST_SetSRID`` of every row in the swap, the part of a load that
nothing runs beside (0.5 s a million polygons). A single part becomes a multi of one by a new
header in front of its own bytes; a multi gets a header with the SRID in place of its own.
"""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

LITTLE_ENDIAN = 1
SRID_FLAG = 0x20000000
TYPE_CODES = {"Point": 1, "MultiLineString": 5, "MultiPolygon": 6}  # the kinds layers have
NOTHING = pa.scalar(b"", pa.large_binary())  # the separator binary_join_element_wise requires
ONE_PART = pa.scalar(struct.pack("<I", 1), pa.large_binary())


def to_ewkb(wkb: np.ndarray, geometry: np.ndarray, kind: str, srid: int) -> pa.Array:
    """EWKB of type ``kind`` with ``srid`` for each row, from its WKB and (where needed) shape.

    ``wkb`` holds the shapes' 2-D WKB, of ``kind`` or its single-part type. WKB that is not
    little-endian 2-D (a big-endian file, extended flags) is encoded again from ``geometry``.
    """
    code = TYPE_CODES[kind]
    single = code - 3 if kind.startswith("Multi") else code
    array = pa.array(wkb, pa.large_binary())
    types = _type_codes(array)
    plain = np.isin(types, (code, single))
    if not plain.all():
        wkb = wkb.copy()
        wkb[~plain] = shapely.to_wkb(geometry[~plain], byte_order=LITTLE_ENDIAN, output_dimension=2)
        array = pa.array(wkb, pa.large_binary())
        types = _type_codes(array)
    lengths = pc.binary_length(array)
    body = pc.binary_slice(array, 5, pc.max(lengths).as_py() or 5)  # pyarrow 26 needs the stop
    if single != code:
        one_part = pc.binary_join_element_wise(ONE_PART, array, NOTHING)
        body = pc.if_else(pa.array(types == single), one_part, body)
    header = pa.scalar(
        struct.pack("<BII", LITTLE_ENDIAN, code | SRID_FLAG, srid), pa.large_binary()
    )
    return pc.binary_join_element_wise(header, body, NOTHING)


def _type_codes(array: pa.Array) -> np.ndarray:
    """Each WKB's type code (from its first 5 bytes) if it is little-endian, else -1."""
    offsets = np.frombuffer(array.buffers()[1], np.int64, len(array) + 1, array.offset * 8)
    data = np.frombuffer(array.buffers()[2] or b"", np.uint8)
    whole = np.diff(offsets) >= 5
    heads = data[offsets[:-1][whole, None] + np.arange(5)]
    codes = np.full(len(array), -1, np.int64)
    codes[whole] = np.where(heads[:, 0] == LITTLE_ENDIAN, heads[:, 1:].copy().view("<u4")[:, 0], -1)
    return codes
