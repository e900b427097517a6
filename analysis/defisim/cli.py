"""Command line: python3 -m defisim COMMAND FILE ... (with analysis/ on sys.path).

    PY=$(analysis/python.sh)
    PYTHONPATH=analysis $PY -m defisim info results/quickstart.h5
    PYTHONPATH=analysis $PY -m defisim scenarios results/sweep.h5 [--format csv]
    PYTHONPATH=analysis $PY -m defisim summary results/sweep.h5 --metric lp.pnl_vs_hodl [--level 0.9]
    PYTHONPATH=analysis $PY -m defisim compare results/sweep.h5 --metric lp.pnl_vs_hodl 1 0
    PYTHONPATH=analysis $PY -m defisim plot exceedance results/sweep.h5 --metric lp.pnl_vs_hodl -o tail.png

Exit status 0 on success, 2 on unusable input (missing file, wrong format,
unknown scenario, metric or parameter).
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Optional, Sequence

from . import stats
from .results import ResultsFormatError, open_results
from .tables import csv_table, markdown_table, parse_value


def _where(pairs: Optional[Sequence[str]]) -> Dict[str, object]:
    where: Dict[str, object] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ValueError(f"--where needs KEY=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        where[key.strip()] = parse_value(value)
    return where


def _scenario(text: str):
    return int(text) if text.isdigit() else text


def _render(rows: List[dict], columns: List[str], fmt: str) -> str:
    return csv_table(rows, columns) if fmt == "csv" else markdown_table(rows, columns)


def cmd_info(args) -> int:
    with open_results(args.file) as r:
        a = r.attrs
        scenarios = r.scenarios()
        print(f"file:        {r.path}")
        print(f"experiment:  {a.get('experiment_name')}")
        print(f"format:      {r.format_version[0]}.{r.format_version[1]} "
              f"(defisim {a.get('defisim_version')}, {a.get('source_revision')})")
        print(f"run:         {len(scenarios)} scenario(s) x {a.get('paths')} paths x {a.get('blocks')} blocks "
              f"of {a.get('block_time_seconds')} s, seed {a.get('seed')}")
        info = r.run_info
        if info:
            print(f"written:     {info.get('created_utc')}, {info.get('wall_seconds')} s on "
                  f"{info.get('threads')} thread(s), {info.get('ranks')} rank(s)")
        swept = r.swept_parameters()
        print(f"swept:       {', '.join(swept) if swept else '(nothing)'}")
        if scenarios:
            first = scenarios[0]["index"]
            print(f"outcomes:    {', '.join(r.outcome_metrics(first))}")
            print(f"series:      {', '.join(r.series_metrics(first)) or '(none)'}")
            weighted = [s["index"] for s in scenarios if r.weights(s["index"]) is not None]
            if weighted:
                print(f"weights:     per-path weights in {len(weighted)} scenario(s)")
    return 0


def cmd_scenarios(args) -> int:
    with open_results(args.file) as r:
        if args.format == "csv":
            sys.stdout.write(r.scenario_csv())
        else:
            print(r.scenario_markdown())
    return 0


def cmd_summary(args) -> int:
    probs = args.prob
    with open_results(args.file) as r:
        chosen = r._scenario_list([_scenario(s) for s in args.scenario] if args.scenario else None,
                                  _where(args.where))
        if not chosen:
            raise ValueError("no scenario matches")
        metrics = args.metric or r.outcome_metrics(chosen[0])
        table = {row["scenario"]: row for row in r.scenario_table()}
        swept = r.swept_parameters()
        weights = None if args.unweighted else "auto"
        for metric in metrics:
            info = r.metric_info(chosen[0], metric)
            tail = info.get("risk_tail", stats.HIGHER_IS_WORSE)
            rows = []
            for s in chosen:
                summary = r.summary_ci(s, metric, level=args.level, probs=probs, weights=weights,
                                       n_boot=args.boot, seed=args.seed)
                row = dict(table.get(s, {"scenario": s}))
                row["n"] = summary["n"]
                if "ess" in summary:
                    row["ess"] = summary["ess"]
                row["mean ± SE [CI]"] = summary["mean"].format(args.digits)
                for p in probs:
                    label = stats.percent_label(p)
                    row[f"VaR{label} [CI]"] = summary[f"var{label}"].format(args.digits, se=False)
                    row[f"ES{label} [CI]"] = summary[f"es{label}"].format(args.digits, se=False)
                rows.append(row)
            columns = ["scenario"] + swept + [c for c in rows[0] if c not in swept and c != "scenario"]
            if args.format == "markdown":
                unit = info.get("unit", "")
                print(f"\n### {metric}" + (f" ({unit})" if unit else "") + f", risk tail: {tail}; "
                      f"{args.level:.0%} intervals (mean: normal; VaR: order statistics; "
                      f"ES: bootstrap, {args.boot} resamples, seed {args.seed})\n")
                print(_render(rows, columns, "markdown"))
            else:
                for row in rows:
                    row["metric"] = metric
                sys.stdout.write(_render(rows, ["metric"] + columns, "csv"))
    return 0


def cmd_compare(args) -> int:
    with open_results(args.file) as r:
        a, b = _scenario(args.a), _scenario(args.b)
        d = r.paired_difference(args.metric, a, b, level=args.level,
                                weights=None if args.unweighted else "auto")
        ma = r.estimate(a, args.metric, "mean", args.level)
        mb = r.estimate(b, args.metric, "mean", args.level)
        unit = r.metric_info(a, args.metric).get("unit", "")
        print(f"{args.metric} ({unit}), {d.n} paths, {args.level:.0%} normal intervals")
        print(f"  scenario {a} ({r.scenario_label(a)}): mean {ma.format(args.digits)}")
        print(f"  scenario {b} ({r.scenario_label(b)}): mean {mb.format(args.digits)}")
        print(f"  paired difference {a} - {b}: {d.format(args.digits)}"
              f"  (unpaired SE would be {(ma.se ** 2 + mb.se ** 2) ** 0.5:.{args.digits}g})")
    return 0


def cmd_plot(args) -> int:
    from . import plots

    where = _where(args.where)
    with open_results(args.file) as r:
        scenarios = [_scenario(s) for s in args.scenario] if args.scenario else None
        if args.kind == "fan":
            ax = plots.series_fan_chart(r, args.metric, scenarios, where=where)
        elif args.kind in ("hist", "ecdf"):
            samples = r.outcomes_by_scenario(args.metric, scenarios, where)
            ax = plots.distribution_plot(samples, kind=args.kind, xlabel=args.metric)
        elif args.kind == "exceedance":
            samples = r.outcomes_by_scenario(args.metric, scenarios, where)
            first = r._scenario_list(scenarios, where)[0]
            ax = plots.exceedance_plot(samples, tail=r.risk_tail(first, args.metric), xlabel=args.metric,
                                       band=args.band)
        elif args.kind == "heatmap":
            if not (args.x and args.y):
                raise ValueError("plot heatmap needs --x and --y (swept parameters)")
            ax = plots.sweep_heatmap(r, args.metric, args.x, args.y, _statistic(args.statistic),
                                     where=where, level=args.level)
        else:  # sweep
            if not args.x:
                raise ValueError("plot sweep needs --x (a swept parameter)")
            ax = plots.sweep_plot(r, args.metric, args.x, _statistic(args.statistic), group=args.group,
                                  where=where, level=args.level)
        print(plots.save(ax, args.output))
    return 0


def _statistic(text: str):
    try:
        value = float(text)
    except ValueError:
        return text
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m defisim",
                                     description="Inspect and summarise defisim results files.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="what a results file holds")
    p.add_argument("file")
    p.set_defaults(run=cmd_info)

    p = sub.add_parser("scenarios", help="the scenarios and their swept parameters as a table")
    p.add_argument("file")
    p.add_argument("--format", choices=("markdown", "csv"), default="markdown")
    p.set_defaults(run=cmd_scenarios)

    def common(p):
        p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
        p.add_argument("--digits", type=int, default=4, help="significant digits (default 4)")
        p.add_argument("--unweighted", action="store_true", help="ignore stored per-path weights")

    p = sub.add_parser("summary", help="mean, VaR and ES with confidence intervals")
    p.add_argument("file")
    p.add_argument("--metric", action="append", help="outcome metric (repeatable; default all)")
    p.add_argument("--scenario", action="append", help="scenario index (repeatable; default all)")
    p.add_argument("--where", action="append", metavar="KEY=VALUE",
                   help="keep scenarios with this swept parameter value (repeatable)")
    p.add_argument("--prob", type=float, nargs="+", default=[0.95, 0.99],
                   help="VaR/ES probabilities (default 0.95 0.99)")
    p.add_argument("--boot", type=int, default=stats.DEFAULT_BOOT, help="bootstrap resamples for ES")
    p.add_argument("--seed", type=int, default=stats.DEFAULT_SEED, help="bootstrap seed")
    p.add_argument("--format", choices=("markdown", "csv"), default="markdown")
    common(p)
    p.set_defaults(run=cmd_summary)

    p = sub.add_parser("compare", help="paired difference of one outcome between two scenarios")
    p.add_argument("file")
    p.add_argument("--metric", required=True)
    p.add_argument("a", help="scenario index")
    p.add_argument("b", help="scenario index")
    common(p)
    p.set_defaults(run=cmd_compare)

    p = sub.add_parser("plot", help="one figure to a file")
    p.add_argument("kind", choices=("fan", "hist", "ecdf", "exceedance", "heatmap", "sweep"))
    p.add_argument("file")
    p.add_argument("--metric", required=True, help="outcome metric (series metric for fan)")
    p.add_argument("-o", "--output", required=True, help="image file (.png, .pdf, .svg)")
    p.add_argument("--scenario", action="append", help="scenario index (repeatable; default all)")
    p.add_argument("--where", action="append", metavar="KEY=VALUE")
    p.add_argument("--x", help="swept parameter on the x axis (heatmap, sweep)")
    p.add_argument("--y", help="swept parameter on the y axis (heatmap)")
    p.add_argument("--group", help="one line per value of this swept parameter (sweep)")
    p.add_argument("--statistic", default="mean", help="mean, median, pNN, varNN, esNN, prob>T")
    p.add_argument("--band", action="store_true", help="Wilson bands on exceedance curves")
    p.add_argument("--level", type=float, default=0.95)
    p.set_defaults(run=cmd_plot)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ResultsFormatError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
