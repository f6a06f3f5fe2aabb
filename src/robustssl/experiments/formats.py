"""A result table and its renderings: Markdown, CSV, LaTeX (booktabs), HTML and plain text.

A :class:`Table` has one or more row-label columns and one- or two-level column labels (seed 001
Table 1 groups AA / RA / SA under each dataset). Numbers are printed with the table's precision
and unit suffix, and a missing cell is "–" ("" in CSV, so the file stays numeric).
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass, field

MISSING = "–"


@dataclass
class Table:
    """Row labels × column labels → numbers (None = missing).

    ``blank_repeats`` lists row-label levels whose value is left blank when it repeats the row
    above (the seeds print a finetuning method once per block); ``sections`` maps a row index to
    a heading printed before that row ("Robustness Improvement" in seed 002 Table 5.6).
    """

    name: str
    title: str
    row_header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    columns: list[tuple[str, ...]]
    cells: list[list[float | None]]
    precision: int = 2
    suffix: str = ""
    caption: str = ""
    blank_repeats: tuple[int, ...] = ()
    sections: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.cells) != len(self.rows) or any(
            len(r) != len(self.columns) for r in self.cells
        ):
            raise ValueError(
                f"table {self.name}: {len(self.rows)} rows × {len(self.columns)} columns but "
                f"cells are {[len(r) for r in self.cells]}"
            )

    @property
    def levels(self) -> int:
        return max((len(c) for c in self.columns), default=1)

    def cell_text(self, value: float | None, suffix: bool = True) -> str:
        if value is None:
            return MISSING
        return f"{value:.{self.precision}f}" + (self.suffix if suffix else "")

    def shown_rows(self) -> list[tuple[str, ...]]:
        """Row labels with repeats blanked on the ``blank_repeats`` levels."""
        out, prev = [], None
        for row in self.rows:
            shown = tuple(
                "" if prev is not None and i in self.blank_repeats and row[i] == prev[i] else v
                for i, v in enumerate(row)
            )
            out.append(shown)
            prev = row
        return out

    def flat_columns(self) -> list[str]:
        return [" ".join(part for part in c if part) for c in self.columns]


def to_markdown(table: Table) -> str:
    """GitHub Markdown: bold title, the table (numbers right-aligned), then the caption."""
    header = [*table.row_header, *table.flat_columns()]
    align = [":---"] * len(table.row_header) + ["---:"] * len(table.columns)
    lines = [f"**{table.title}**", "", _md_line(header), _md_line(align)]
    for i, (labels, cells) in enumerate(zip(table.shown_rows(), table.cells, strict=True)):
        if i in table.sections:
            lines.append(_md_line([f"**{table.sections[i]}**"] + [""] * (len(header) - 1)))
        lines.append(_md_line([*labels, *(table.cell_text(v) for v in cells)]))
    if table.caption:
        lines += ["", table.caption]
    return "\n".join(lines) + "\n"


def _md_line(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def to_csv(table: Table) -> str:
    """One header line (row-label names, then column labels joined by a space), full row labels
    on every line, numbers without unit, missing cells empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*table.row_header, *table.flat_columns()])
    for labels, cells in zip(table.rows, table.cells, strict=True):
        writer.writerow([*labels, *("" if v is None else table.cell_text(v, False) for v in cells)])
    return buffer.getvalue()


def to_text(table: Table) -> str:
    """Aligned plain text for the terminal."""
    header = [*table.row_header, *table.flat_columns()]
    body = [
        [*labels, *(table.cell_text(v) for v in cells)]
        for labels, cells in zip(table.shown_rows(), table.cells, strict=True)
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    nlab = len(table.row_header)

    def line(r: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < nlab else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()

    out = [table.title, line(header), "  ".join("-" * w for w in widths)]
    for i, r in enumerate(body):
        if i in table.sections:
            out.append(table.sections[i])
        out.append(line(r))
    return "\n".join(out) + "\n"


_LATEX_CHARS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "ε": r"$\epsilon$",
    "∞": r"$\infty$",
    "→": r"$\rightarrow$",
    "−": "$-$",
    "×": r"$\times$",
    "–": "--",
}


def latex_escape(text: str) -> str:
    """``text`` safe inside a LaTeX tabular (specials escaped, ε / ∞ / → as math)."""
    return "".join(_LATEX_CHARS.get(ch, ch) for ch in text)


def to_latex(table: Table) -> str:
    """A booktabs ``table`` environment; two-level columns get \\multicolumn group headers."""
    nlab, ncol = len(table.row_header), len(table.columns)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{latex_escape(table.title)}}}",
        rf"\begin{{tabular}}{{{'l' * nlab}{'r' * ncol}}}",
        r"\toprule",
    ]
    if table.levels > 1:
        lines += _latex_groups(table, nlab)
    last = [c[-1] for c in table.columns]
    lines.append(" & ".join(latex_escape(h) for h in [*table.row_header, *last]) + r" \\")
    lines.append(r"\midrule")
    for i, (labels, cells) in enumerate(zip(table.shown_rows(), table.cells, strict=True)):
        if i in table.sections:
            title = latex_escape(table.sections[i])
            lines.append(rf"\midrule \multicolumn{{{nlab + ncol}}}{{l}}{{{title}}} \\")
        values = [latex_escape(table.cell_text(v)) for v in cells]
        lines.append(" & ".join([*(latex_escape(x) for x in labels), *values]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.caption:
        lines.append(rf"\par\smallskip{{\footnotesize {latex_escape(table.caption)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def column_groups(table: Table) -> list[tuple[str, int]]:
    """(top-level label, span) runs of the first column level."""
    groups: list[tuple[str, int]] = []
    for c in table.columns:
        top = c[0] if len(c) > 1 else ""
        if groups and groups[-1][0] == top:
            groups[-1] = (top, groups[-1][1] + 1)
        else:
            groups.append((top, 1))
    return groups


def _latex_groups(table: Table, nlab: int) -> list[str]:
    cells, rules, col = [""] * nlab, [], nlab + 1
    for top, span in column_groups(table):
        cells.append(rf"\multicolumn{{{span}}}{{c}}{{{latex_escape(top)}}}" if top else "")
        if top:
            rules.append(rf"\cmidrule(lr){{{col}-{col + span - 1}}}")
        col += span
    return [" & ".join(cells) + r" \\", " ".join(rules)]


def to_html(table: Table, table_id: str | None = None) -> str:
    """An HTML ``<table>`` (caption = title; grouped headers with colspan; class "section"
    for section heading rows, class "data" for data rows)."""
    esc = html.escape
    nlab = len(table.row_header)
    tid = esc(table_id or f"table-{table.name}")
    out = [f'<table class="results" id="{tid}">', f"<caption>{esc(table.title)}</caption>"]
    out.append("<thead>")
    if table.levels > 1:
        tops = "".join(
            f'<th colspan="{span}">{esc(top)}</th>' for top, span in column_groups(table)
        )
        out.append(f'<tr><th colspan="{nlab}"></th>{tops}</tr>')
    heads = [*table.row_header, *(c[-1] for c in table.columns)]
    out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in heads) + "</tr>")
    out.append("</thead><tbody>")
    for i, (labels, cells) in enumerate(zip(table.shown_rows(), table.cells, strict=True)):
        if i in table.sections:
            span = nlab + len(table.columns)
            out.append(
                f'<tr class="section"><th colspan="{span}">{esc(table.sections[i])}</th></tr>'
            )
        tds = "".join(f"<th>{esc(x)}</th>" for x in labels)
        tds += "".join(f'<td class="num">{esc(table.cell_text(v))}</td>' for v in cells)
        out.append(f'<tr class="data">{tds}</tr>')
    out.append("</tbody></table>")
    if table.caption:
        out.append(f'<p class="caption">{esc(table.caption)}</p>')
    return "\n".join(out)
