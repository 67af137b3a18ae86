"""The one exceptions module: errors a user can act on, in Slovenian and English.

Each error says what went wrong, where (file, layer), and the fix, so that a GIS officer can act
on it without reading a traceback.
"""

from __future__ import annotations


class GisError(Exception):
    """An error with a message in English and in Slovenian, and the fix in both.

    Parameters
    ----------
    en, sl : str
        What went wrong, in English and in Slovenian.
    fix_en, fix_sl : str
        What to do about it.
    """

    def __init__(self, en: str, sl: str, fix_en: str = "", fix_sl: str = "") -> None:
        self.en, self.sl, self.fix_en, self.fix_sl = en, sl, fix_en, fix_sl
        super().__init__(str(self))

    def __str__(self) -> str:
        english = f"{self.en}" + (f"; fix: {self.fix_en}" if self.fix_en else "")
        slovene = f"{self.sl}" + (f"; rešitev: {self.fix_sl}" if self.fix_sl else "")
        return f"{english}\n[sl] {slovene}"


class ConfigurationError(GisError):
    """The settings, a profile or the layer registry do not match the database or the disk."""


class LoadError(GisError):
    """A file could not be loaded into a layer; the database was left as it was."""

    def __init__(
        self, path: object, layer: str, en: str, sl: str, fix_en: str = "", fix_sl: str = ""
    ) -> None:
        prefix_en = f"file {path}, layer {layer}: "
        prefix_sl = f"datoteka {path}, sloj {layer}: "
        super().__init__(prefix_en + en, prefix_sl + sl, fix_en, fix_sl)


class LayerAccessError(GisError):
    """A session asked for a layer its role may not see."""
