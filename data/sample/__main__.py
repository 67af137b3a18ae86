"""``python -m data.sample [--profile NAME] [--out DIR]``: write a profile's sample data."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from data.profiles import load_profile
from data.sample.generate import write_sample
from layers.settings import read_settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m data.sample", description=__doc__)
    parser.add_argument(
        "--profile",
        default=read_settings().profile,
        help="municipality profile (default: %(default)s)",
    )
    parser.add_argument(
        "--out", type=Path, help="output folder (default: data/generated/<profile>)"
    )
    parser.add_argument(
        "--readings",
        type=int,
        help="how many sensor readings (default: the profile's, 2 million for Ptuj; e.g. 50000000)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    started = time.perf_counter()
    manifest = write_sample(load_profile(args.profile), args.out, args.readings)
    print(
        f"sample for {args.profile} written to {manifest.parent} in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
