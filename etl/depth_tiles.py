"""A flood raster's water depths as PostGIS raster tiles (``layers.registry.DEPTH_TABLE``).

PostGIS takes a raster as its well-known binary (``ST_RastFromWKB``): a header placing the
tile, then one band of pixels (PostGIS's raster/doc/RFC2-WellKnownBinaryFormat). Written here
from the window the loader has already read and warped into EPSG:3794, it needs neither a GDAL
driver enabled inside the database (PostGIS keeps them all off) nor a second reading of the file.
GDAL's own PostGIS raster driver reads the tiles back in the tests.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np
from rasterio.transform import Affine

# A side of a tile. The report reads one tile per exposed building, whole: 64 × 64 cells of
# float32 are 16 kB, where 256 × 256 were 256 kB read for each of thousands of buildings.
TILE_CELLS = 64
NO_DATA = 0.0  # a dry cell: no water to report
PIXEL_32BF = 10  # PostGIS's code of a 32-bit float band
HAS_NO_DATA = 0x40  # the band flag saying its no-data value is set
LITTLE_ENDIAN = 1
HEADER = struct.Struct("<BHHddddddiHH")  # endianness, version, bands, georeference, srid, size
BAND = struct.Struct("<Bf")  # pixel type and flags, no-data value


def tile_wkb(depth: np.ndarray, transform: Affine, srid: int) -> bytes:
    """One tile: ``depth`` (metres, row 0 at the top, ``NO_DATA`` where dry) placed by
    ``transform``, as PostGIS's raster well-known binary.
    """
    height, width = depth.shape
    header = HEADER.pack(
        LITTLE_ENDIAN,
        0,  # the format's version
        1,  # one band
        transform.a,  # the cell's width
        transform.e,  # its height, negative: rows run south
        transform.c,  # the upper left corner
        transform.f,
        transform.b,  # rotations, none for a north-up grid
        transform.d,
        srid,
        width,
        height,
    )
    band = BAND.pack(PIXEL_32BF | HAS_NO_DATA, NO_DATA)
    return header + band + depth.astype("<f4").tobytes()


def depth_tiles(depth: np.ma.MaskedArray, transform: Affine, srid: int) -> Iterator[bytes]:
    """A window's wet tiles, ``TILE_CELLS`` a side (less at its edges); dry tiles are left out."""
    filled = depth.filled(NO_DATA)
    cells = np.where(filled > 0, filled, NO_DATA)
    height, width = cells.shape
    for row in range(0, height, TILE_CELLS):
        for col in range(0, width, TILE_CELLS):
            tile = cells[row : row + TILE_CELLS, col : col + TILE_CELLS]
            if tile.any():
                yield tile_wkb(tile, transform @ Affine.translation(col, row), srid)
