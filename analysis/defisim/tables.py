"""Small helpers for tables: parameter values from YAML text, markdown and CSV rendering."""
from __future__ import annotations

import csv
import io
import math
import re
from typing import Any, Dict, List, Optional, Sequence

_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
_FLOAT_RE = re.compile(r"^[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_SPECIAL = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan,
            "inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def parse_value(text: Any) -> Any:
    """A swept parameter's YAML text as a Python value.

    Integers -> int, numbers (also 1e-3, .inf) -> float, true/false -> bool,
    null/~ -> None, flow lists "[a, b]" -> tuple of parsed items (hashable, so
    they can key a dict), quoted strings -> the string; anything else is kept
    as the text. Independent of PyYAML, so it behaves the same everywhere.
    """
    if not isinstance(text, str):
        return text
    s = text.strip()
    if s == "":
        return ""
    lower = s.lower()
    if lower in ("true", "yes", "on"):
        return True
    if lower in ("false", "no", "off"):
        return False
    if lower in ("null", "~"):
        return None
    if lower in _SPECIAL:
        return _SPECIAL[lower]
    if _INT_RE.match(s):
        return int(s.replace("_", ""))
    if _FLOAT_RE.match(s):
        try:
            return float(s.replace("_", ""))
        except ValueError:
            return s
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    if s.startswith("[") and s.endswith("]"):
        items = _split_flow(s[1:-1])
        if items is not None:
            return tuple(parse_value(item) for item in items)
    return text


def _split_flow(body: str) -> Optional[List[str]]:
    """Top-level comma split of a flow sequence body; None if brackets do not balance."""
    items, depth, current, quote = [], 0, [], ""
    for ch in body:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "," and depth == 0:
            items.append("".join(current))
            current = []
            continue
        current.append(ch)
    if depth != 0 or quote:
        return None
    last = "".join(current)
    if last.strip() or items:
        items.append(last)
    return [item.strip() for item in items]


def format_cell(value: Any, digits: int = 6) -> str:
    """A table cell: floats with `digits` significant digits, tuples as [a, b], None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.{digits}g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(format_cell(v, digits) for v in value) + "]"
    if hasattr(value, "format") and hasattr(value, "lo") and hasattr(value, "hi"):
        return value.format(digits=min(digits, 4))  # an Estimate
    return str(value)


def columns_of(rows: Sequence[Dict[str, Any]]) -> List[str]:
    """Union of the rows' keys, in order of first appearance."""
    columns: List[str] = []
    seen = set()
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    return columns


def markdown_table(rows: Sequence[Dict[str, Any]], columns: Optional[Sequence[str]] = None,
                   digits: int = 6) -> str:
    """GitHub-flavoured markdown table of a list of dicts (missing cells empty)."""
    columns = list(columns) if columns is not None else columns_of(rows)
    if not columns:
        return ""

    def escape(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    cells = [[escape(format_cell(row.get(c), digits)) for c in columns] for row in rows]
    header = [escape(str(c)) for c in columns]
    widths = [max([len(header[i])] + [len(r[i]) for r in cells] + [3]) for i in range(len(columns))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
    return "\n".join(lines)


def csv_table(rows: Sequence[Dict[str, Any]], columns: Optional[Sequence[str]] = None,
              digits: int = 17) -> str:
    """CSV text of a list of dicts (floats to full precision by default)."""
    columns = list(columns) if columns is not None else columns_of(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([format_cell(row.get(c), digits) for c in columns])
    return out.getvalue()
