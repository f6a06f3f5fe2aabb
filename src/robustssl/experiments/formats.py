"""A result table and its renderings: Markdown, CSV, LaTeX (booktabs), HTML and plain text.

A :class:`Table` has one or more row-label columns and one- or two-level column labels (seed 001
Table 1 groups AA / RA / SA under each dataset). Cells hold the numbers as stored (accuracies as
fractions) or a :class:`Stat` when several records (seeds) are combined.

Units (issue 14): the human renderings (Markdown, LaTeX, HTML, text) multiply by the cell's
``scale`` (100 for accuracies: percent) and round to the table's precision; a combined cell reads
``36.00 ± 0.40 (3)`` (mean ± sample std (number of records)). CSV keeps the stored fractions at
full precision, says "(fraction)" in the header of such columns, and gives a combined cell's std
and count their own columns. A missing cell is "–" ("" in CSV, so the file stays numeric).
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

MISSING = "–"
SAME_SEED_MARK = "*"


_ASCII = str.maketrans({"α": "a", "ε": "eps", "∞": "inf", "×": "x"})


def file_slug(text: str) -> str:
    """A file name from ``text``: ASCII letters, digits, '-' and '.', one '_' for each run of
    anything else (so names type in any shell: "PGD-20 α=ε/4" → "PGD-20_a_eps_4"). The one rule
    for the report's table and figure file names."""
    chars = (
        ch if ch.isascii() and (ch.isalnum() or ch in "-.") else "_"
        for ch in text.translate(_ASCII)
    )
    return re.sub("_+", "_", "".join(chars)).strip("_")


@dataclass(frozen=True)
class Stat:
    """Several records combined in one cell: the mean, the sample standard deviation (0 for one
    value), the number of records and their seeds."""

    mean: float
    std: float
    n: int
    seeds: tuple[int, ...] = ()

    @classmethod
    def of(cls, values: Sequence[float], seeds: Sequence[int] = ()) -> Stat | None:
        if not values:
            return None
        m = sum(values) / len(values)
        var = sum((v - m) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
        return cls(m, math.sqrt(var), len(values), tuple(seeds))

    @property
    def same_seed(self) -> bool:
        """Whether two of the combined records share a seed (several models, not only seeds)."""
        return len(self.seeds) == self.n and len(set(self.seeds)) < self.n

    def text(self, scale: float = 1.0, digits: int = 2, sign: str = "") -> str:
        """``mean ± std (n)`` scaled and rounded; the mean alone for one record."""
        text = f"{self.mean * scale:.{digits}f}{sign}"
        if self.n > 1:
            text += f" ± {self.std * scale:.{digits}f} ({self.n})"
        return text


Cell = float | Stat | None


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
    cells: list[list[Cell]]
    precision: int = 2
    scale: float = 1.0
    percent_sign: bool = False
    scales: list[list[float]] | None = None
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

    def scale_of(self, i: int, j: int) -> float:
        """The display multiplier of cell (i, j): 100 for accuracies (shown in %)."""
        return self.scales[i][j] if self.scales is not None else self.scale

    def cell_text(self, value: Cell, i: int = 0, j: int = 0) -> str:
        """The human text of a cell: scaled, rounded, ``mean ± std (n)`` when combined."""
        if value is None:
            return MISSING
        scale, p = self.scale_of(i, j), self.precision
        sign = "%" if self.percent_sign and scale == 100 else ""
        if isinstance(value, Stat):
            return value.text(scale, p, sign) + (SAME_SEED_MARK if value.same_seed else "")
        return f"{value * scale:.{p}f}{sign}"

    def column_unit(self, j: int) -> str:
        """What the CSV column holds: "fraction" when every cell is shown in % elsewhere."""
        scales = {self.scale_of(i, j) for i in range(len(self.rows))} or {self.scale}
        if scales == {100}:
            return "fraction"
        return "accuracies as fractions" if 100 in scales else ""

    def combined_columns(self) -> list[int]:
        """Columns with a cell that combines several records (their CSV gets std and n)."""
        return [
            j
            for j in range(len(self.columns))
            if any(isinstance(row[j], Stat) and row[j].n > 1 for row in self.cells)  # type: ignore[union-attr]
        ]

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
        lines.append(_md_line([*labels, *(table.cell_text(v, i, j) for j, v in enumerate(cells))]))
    if table.caption:
        lines += ["", table.caption]
    return "\n".join(lines) + "\n"


def _md_line(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _csv_number(value: float) -> str:
    return repr(float(value))  # the shortest text that reads back as the same float


def to_csv(table: Table) -> str:
    """One header line (row-label names, then column labels joined by a space, "(fraction)"
    where the stored fractions are shown in % elsewhere), full row labels on every line, numbers
    as stored at full precision, missing cells empty. A column with combined cells is followed
    by ``<label> std`` and ``<label> n`` columns."""
    combined = set(table.combined_columns())
    header = list(table.row_header)
    for j, label in enumerate(table.flat_columns()):
        unit = table.column_unit(j)
        header.append(f"{label} ({unit})" if unit else label)
        if j in combined:
            header += [f"{label} std", f"{label} n"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for labels, cells in zip(table.rows, table.cells, strict=True):
        out = list(labels)
        for j, v in enumerate(cells):
            stat = v if isinstance(v, Stat) else None
            mean = stat.mean if stat is not None else v
            out.append("" if mean is None else _csv_number(mean))  # type: ignore[arg-type]
            if j in combined:
                out += ["", ""] if stat is None else [_csv_number(stat.std), str(stat.n)]
        writer.writerow(out)
    return buffer.getvalue()


def to_text(table: Table) -> str:
    """Aligned plain text for the terminal."""
    header = [*table.row_header, *table.flat_columns()]
    body = [
        [*labels, *(table.cell_text(v, i, j) for j, v in enumerate(cells))]
        for i, (labels, cells) in enumerate(zip(table.shown_rows(), table.cells, strict=True))
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
    if table.caption:
        out.append(table.caption)
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
    "±": r"$\pm$",
    "α": r"$\alpha$",
    "²": r"$^2$",
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
        values = [latex_escape(table.cell_text(v, i, j)) for j, v in enumerate(cells)]
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
        tds += "".join(
            f'<td class="num">{esc(table.cell_text(v, i, j))}</td>' for j, v in enumerate(cells)
        )
        out.append(f'<tr class="data">{tds}</tr>')
    out.append("</tbody></table>")
    if table.caption:
        out.append(f'<p class="caption">{esc(table.caption)}</p>')
    return "\n".join(out)
