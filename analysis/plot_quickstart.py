#!/usr/bin/env python3
"""Plot the quickstart figure of a defisim results file.

    analysis/plot_quickstart.py RESULTS.h5 OUT.png [--scenario 0] [--lp-id lp]

Left panel: fan chart of the LP position value and the HODL value over time;
right panel: histogram of the final LP-minus-HODL PnL with its mean and 5% VaR.
Needs numpy, h5py and matplotlib; `analysis/python.sh` prints a python3 that
has them, e.g.  "$(analysis/python.sh)" analysis/plot_quickstart.py run.h5 run.png
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MODULES = ("numpy", "h5py", "matplotlib")


def check_modules() -> None:
    missing = []
    for name in MODULES:
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        sys.exit(f"error: {sys.executable} cannot import {', '.join(missing)}.\n"
                 "Install them with: apt-get install python3-numpy python3-h5py python3-matplotlib\n"
                 "or run with the interpreter printed by analysis/python.sh "
                 "(Debian's /usr/bin/python3 has them once installed).")


def main() -> int:
    parser = argparse.ArgumentParser(description="Plot the quickstart figure of a defisim results file.")
    parser.add_argument("results", help="results file (.h5) written by `defisim run`")
    parser.add_argument("png", help="PNG file to write")
    parser.add_argument("--scenario", default="0", help="scenario index (default 0)")
    parser.add_argument("--lp-id", default="lp",
                        help="component id of the LP whose metrics are plotted (default lp)")
    args = parser.parse_args()
    check_modules()
    from defisim import ResultsFormatError
    from defisim.figures import quickstart_figure

    scenario = int(args.scenario) if args.scenario.isdigit() else args.scenario
    try:
        out = quickstart_figure(args.results, args.png, scenario=scenario, lp_id=args.lp_id)
    except (FileNotFoundError, ResultsFormatError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
