"""docs/data-dictionary.md, generated from the extract catalogue so it cannot drift from the code.

    python -m data_loaders.dictionary          # rewrite docs/data-dictionary.md
    python -m data_loaders.dictionary --check  # exit 1 if the committed file is stale

tests/test_reference.py asserts the committed file equals `render_data_dictionary()`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from data_loaders.extracts import (
    AGREEMENTS,
    EARLIEST_EVENT,
    EXTRACTS,
    LINKS,
    REQUIRED_EXTRACTS,
    Column,
    Extract,
)
from data_loaders.readers import MAX_CELL_CHARS
from data_loaders.validate import FALSE_WORDS, TRUE_WORDS

DICTIONARY_PATH = Path(__file__).resolve().parent.parent / "docs" / "data-dictionary.md"

KIND_NAMES = {
    "str": "text",
    "int": "whole number",
    "float": "number",
    "date": "date",
    "datetime": "date-time",
    "bool": "true/false",
}
KIND_HEADINGS = {
    "reference": "Reference data",
    "patient": "Patient-level extracts",
    "aggregate": "Aggregate extracts",
}


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _allowed(col: Column) -> str:
    parts: list[str] = []
    if col.codes is not None:
        parts.append("one of " + ", ".join(f"`{c}`" for c in col.codes))
    if col.pattern is not None:
        parts.append(f"matches `{col.pattern}`")
    if col.kind in ("int", "float"):
        lo, hi = col.min_value, col.max_value
        if lo is not None and hi is not None:
            parts.append(f"{_number(lo)} to {_number(hi)}")
        elif lo is not None:
            parts.append(f"≥ {_number(lo)}")
        elif hi is not None:
            parts.append(f"≤ {_number(hi)}")
    if col.kind in ("date", "datetime"):
        earliest = col.earliest if col.earliest is not None else EARLIEST_EVENT
        fmt = "`YYYY-MM-DD`" if col.kind == "date" else "`YYYY-MM-DD HH:MM[:SS]`"
        parts.append(f"{fmt}, {earliest:%Y-%m-%d} to today")
        if col.month_start:
            parts.append("the first day of a month (`YYYY-MM-01`)")
    if col.kind == "str" and col.codes is None and col.pattern is None:
        parts.append(f"at most {col.max_length} characters")
    return _cell("; ".join(parts)) or "—"


def _checks_across_extracts() -> list[str]:
    """The declared relationships (extracts.LINKS / AGREEMENTS) and what a mismatch does."""
    lines = [
        "## Checks across extracts",
        "",
        "A value that points at another extract is checked against what the database holds and what "
        "the same load brings. **Rejected** mismatches stop the load (file, row, column, reason); "
        "**counted** ones are kept and counted on the Data page's data-quality table and by `flask "
        "--app app load`.",
        "",
        "| Extract | Column | Must match | If not | Why |",
        "|---------|--------|------------|--------|-----|",
    ]
    groups: dict[tuple[str, str, str, str, str], list[str]] = {}  # same rule, several extracts: one row
    for link in LINKS:
        groups.setdefault((link.column, link.target, link.to_column, link.action, link.why), []).append(link.extract)
    for (column, target, to_column, action, why), extracts in groups.items():
        lines.append(f"| {', '.join(f'`{e}`' for e in extracts)} | `{column}` | `{target}.{to_column}` "
                     f"| {'rejected' if action == 'reject' else 'counted'} | {_cell(why)} |")
    for agree in AGREEMENTS:
        lines.append(f"| `{agree.extract}` | `{agree.column}` | `{agree.target}.{agree.column}` (same "
                     f"`{agree.on}`) | counted | {_cell(agree.why)} |")
    lines += [
        "",
        "A load through `flask --app app load` must leave rows in "
        + ", ".join(f"`{n}`" for n in REQUIRED_EXTRACTS)
        + " (the results cannot be computed without them); otherwise it is rejected naming the missing "
        "extract. Shipped reference data (marked below) is installed by the loader itself on every load "
        "and kept in step with the app's copy; a changed copy of it in a load is rejected. Two files of one "
        "extract in one load may not share a key or period: each file replaces its slice, so one would "
        "overwrite the other.",
        "",
        "Each extract has its own data end (never after the dataset's): a practice-level monthly extract "
        "ends with its latest month present; a patient-level extract that lags the GP spine is declared at "
        "load with `--data-end EXTRACT=YYYY-MM-DD` (e.g. `ucr_referral=2025-01-31`; `EXTRACT=none` clears "
        "it), so its missing months are missing, not zero.",
        "",
    ]
    return lines


def _extract_section(ex: Extract) -> list[str]:
    replace = ", ".join(f"`{c}`" for c in ex.replace_columns)
    if ex.replace_columns == ex.key:
        rule = f"a row replaces the row with the same key ({replace}); other rows are kept"
    else:
        rule = f"a file replaces every row whose {replace} value(s) occur in the file"
    lines = [
        f'<a id="{ex.name}"></a>',
        "",
        f"### `{ex.name}` — {ex.title}",
        "",
        ex.description,
        "",
        f"- **Kind:** {ex.kind}" + (" (shipped with the app: `data_loaders/reference/"
                                     f"{ex.name}.csv`)" if ex.shipped else ""),
        f"- **Source:** {ex.source}",
        f"- **Grain:** {ex.grain}",
        f"- **Key (must be unique in a file):** {', '.join(f'`{c}`' for c in ex.key)}",
        f"- **Loading:** {rule}.",
        f"- **Files:** `{ex.name}.csv`, `{ex.name}__<anything>.csv` or `{ex.name}-<anything>.csv`"
        " (or `.xlsx` / `.parquet`).",
        "",
        "| Column | Type | Required | Allowed values | Description |",
        "|--------|------|----------|----------------|-------------|",
    ]
    for col in ex.columns:
        lines.append(
            f"| `{col.name}` | {KIND_NAMES[col.kind]} | {'yes' if col.required else 'no'} "
            f"| {_allowed(col)} | {_cell(col.description)} |"
        )
    if ex.rules:
        lines += ["", "Row rules:", ""]
        lines += [f"- {_cell(rule.description)}" for rule in ex.rules]
    lines.append("")
    return lines


def render_data_dictionary() -> str:
    """The whole data dictionary as markdown (deterministic: no dates, no environment)."""
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by `python -m data_loaders.dictionary` from data_loaders/extracts.py."
        " Do not edit by hand. -->",
        "",
        "Every extract the dashboard loads, with the checks a file must pass. A load is all or "
        "nothing: if any file has any problem, nothing is written and every problem is listed "
        "(file, row, column, reason).",
        "",
        "## File rules (all extracts)",
        "",
        "- **Formats:** CSV encoded as UTF-8 (Excel: *CSV UTF-8*; a byte-order mark is fine), "
        "XLSX (first worksheet, or the sheet named after the extract; header = first non-empty "
        "row) or Parquet.",
        "- **Naming:** the file name says which extract it is: `<extract>.csv`, "
        "`<extract>__<anything>.csv` or `<extract>-<anything>.csv` (e.g. "
        "`inpatient_spell-2024-05.csv`); the longest matching extract name wins. The loader "
        "can also be told the extract explicitly.",
        "- **Columns:** the header must name exactly the columns listed (any order); missing "
        "and unexpected columns are both rejected.",
        "- **Missing values:** an empty cell. Surrounding spaces are ignored. Fully empty rows "
        "are skipped.",
        f"- **Booleans:** {'/'.join(TRUE_WORDS)} or {'/'.join(FALSE_WORDS)} (any case).",
        "- **Dates:** `YYYY-MM-DD`; date-times `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS` "
        "(a `T` separator is fine), no time zone. Dates may not be in the future nor before "
        f"{EARLIEST_EVENT:%Y-%m-%d} unless a column says otherwise.",
        "- **Numbers:** whole numbers may be written `12` or `12.0`; decimals use a point.",
        f"- **Cells:** at most {MAX_CELL_CHARS:,} characters.",
        "- **Row numbers in problem reports:** CSV — the line number with the header as line 1 "
        "(first data row = 2); XLSX — the sheet row number; Parquet — the record number "
        "starting at 1.",
        "",
        *_checks_across_extracts(),
        "## Contents",
        "",
    ]
    for kind, heading in KIND_HEADINGS.items():
        names = [e for e in EXTRACTS if e.kind == kind]
        lines.append(f"- {heading}: " + ", ".join(f"[`{e.name}`](#{e.name})" for e in names))
    lines.append("")
    for kind, heading in KIND_HEADINGS.items():
        lines += [f"## {heading}", ""]
        for ex in EXTRACTS:
            if ex.kind == kind:
                lines += _extract_section(ex)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_data_dictionary(path: Path = DICTIONARY_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_data_dictionary(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--check" in argv:
        current = DICTIONARY_PATH.read_text(encoding="utf-8") if DICTIONARY_PATH.exists() else ""
        if current != render_data_dictionary():
            print(f"{DICTIONARY_PATH} is stale: run python -m data_loaders.dictionary", file=sys.stderr)
            return 1
        return 0
    print(write_data_dictionary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
