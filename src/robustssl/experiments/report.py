"""``robustssl report STUDY_DIR``: the study's tables, figures, config and gradient-masking
findings in ``<study>/report/`` (SPEC.md §9).

Written there: ``tables/<name>.{md,csv,tex}`` for every seed layout the records fill
(:func:`robustssl.experiments.tables.seed_tables`), ``figures/*.{png,svg}`` (robustness curves
per dataset, clean-vs-attacked confusion matrices, t-SNE plots from the evaluations' ``tsne_*.npz``,
every figure a stage left in ``<run>/figures/``, e.g. loss landscapes and inversion maps, and
robust accuracy vs pretraining seconds with its Pareto front, :mod:`robustssl.experiments.pareto`),
``records.csv`` (every record), ``results.md`` (the tables as one document with the study's
seeds, completeness and compute, :mod:`robustssl.experiments.results_md`) and ``index.html``:
one static page, inline CSS, images referenced relatively, no script and no external asset, so
it opens from disk or any file server.
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from robustssl.evaluation.metrics import is_accuracy
from robustssl.evaluation.records import code_version, now
from robustssl.experiments import figures as figs
from robustssl.experiments.compute import pretrain_costs
from robustssl.experiments.formats import Table, file_slug, to_csv, to_html, to_latex, to_markdown
from robustssl.experiments.imported import AddedSeeds, add_seeds
from robustssl.experiments.pareto import pareto_figure, pareto_panels
from robustssl.experiments.points import format_eps, model_key
from robustssl.experiments.records_csv import records_csv
from robustssl.experiments.results_md import results_markdown
from robustssl.experiments.store import ResultsStore
from robustssl.experiments.superseded import (
    entry_name,
    read_plan,
    superseded_stages,
    unplanned_unfinished,
)
from robustssl.experiments.tables import seed_tables
from robustssl.runs.layout import CONFIG_JSON, CONFIG_YAML, EXPERIMENT, STORE

CONFIG_FILES = (EXPERIMENT, "study.yaml", CONFIG_YAML, CONFIG_JSON)
MAX_FIGURES_PER_KIND = 12
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222;line-height:1.4}
h1{border-bottom:2px solid #446;padding-bottom:.2em}h2{margin-top:2em;color:#335}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
caption{font-weight:bold;text-align:left;padding:.3em 0}
th,td{border:1px solid #ccc;padding:.25em .6em}thead th{background:#eef}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.section th{background:#f6f6f6;text-align:left}
figure{display:inline-block;margin:1em;vertical-align:top}
figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#555}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.85em}
.sev-warning{color:#a60}.sev-error,.sev-critical{color:#b00;font-weight:bold}
.links a{margin-right:.6em;font-size:.85em}
"""


@dataclass
class Report:
    """What :func:`build_report` wrote."""

    out_dir: Path
    index: Path
    tables: list[Table] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    findings: int = 0


def study_config(study_dir: Path) -> tuple[str, str] | None:
    """(file name, text) of the study's experiment file, the first of ``CONFIG_FILES``."""
    for name in CONFIG_FILES:
        path = study_dir / name
        if path.is_file():
            return name, path.read_text()
    return None


def write_tables(tables: list[Table], out_dir: Path) -> None:
    """``<out_dir>/<name>.md|csv|tex`` for each table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for t in tables:
        (out_dir / f"{t.name}.md").write_text(to_markdown(t))
        (out_dir / f"{t.name}.csv").write_text(to_csv(t))
        (out_dir / f"{t.name}.tex").write_text(to_latex(t))


def curve_figures(rows: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """One robustness-curve figure per dataset with accuracy points."""
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        curves = figs.curves_from_rows([r for r in rows if r["dataset"] == dataset])
        if any(len(pts) > 1 for c in curves.values() for pts in c.values()):
            title = f"Accuracy vs ε_test on {dataset} (attack per line)"
            out.append(
                figs.robustness_curves(
                    curves, out_dir / f"curves_{file_slug(str(dataset))}", title
                ).png
            )
    return out


def confusion_figures(rows: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Clean vs PGD confusion matrices of each model (first ``MAX_FIGURES_PER_KIND``)."""
    cms = [r for r in rows if r["metric"] == "confusion_matrix" and "tags.corruption" not in r]
    clean = {model_key(r): r for r in cms if r.get("tags.data") == "clean"}
    out: list[Path] = []
    for r in cms:
        base = clean.get(model_key(r))
        if r.get("tags.data") != "pgd" or base is None or len(out) >= MAX_FIGURES_PER_KIND:
            continue
        eps = format_eps(r["eps"], r["norm"])
        name = file_slug(f"confusion_{r['model']}_{r['norm']}_{eps}_s{r['seed']}")
        titles = ("clean", f"PGD {r['norm']} ε = {eps}")
        out.append(
            figs.confusion_pair(base["value"], r["value"], out_dir / name, titles=titles).png
        )
    return out


def tsne_figures(store: ResultsStore, stages: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """A t-SNE scatter for every ``evaluation/*/tsne_*.npz`` of the stages' run dirs."""
    out: list[Path] = []
    for stage in stages:
        run = store.stage_path(stage)
        if run is None or not run.is_dir():
            continue
        for npz in sorted(run.glob("evaluation/*/tsne_*.npz")):
            if len(out) >= MAX_FIGURES_PER_KIND:
                return out
            with np.load(npz) as data:
                emb, labels = data["embedding"], data["labels"]
                adv = data.get("adversarial")
            name = file_slug(f"tsne_{run.name}_{npz.parent.name}_{npz.stem[5:]}")
            title = f"t-SNE {run.name}: {npz.stem[5:]}"
            out.append(figs.tsne_scatter(emb, labels, out_dir / name, adv, title=title).png)
    return out


def stage_figures(store: ResultsStore, stages: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Copies of the figures stages saved in ``<run>/figures/`` (PNG, with their SVG)."""
    out = []
    for stage in stages:
        run = store.stage_path(stage)
        if run is None:
            continue
        for png in sorted((run / "figures").glob("*.png")):
            target = out_dir / file_slug(f"{run.name}_{png.stem}")
            out_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, target.with_suffix(".png"))
            if png.with_suffix(".svg").is_file():
                shutil.copyfile(png.with_suffix(".svg"), target.with_suffix(".svg"))
            out.append(target.with_suffix(".png"))
    return out


def pareto_figures(store: ResultsStore, rows: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Robust accuracy vs pretraining seconds, one figure per protocol × attack setting with
    ≥ 2 methods (robustssl.experiments.pareto)."""
    costs = pretrain_costs(store.stages(), store.study_dir)
    out = []
    for panel in pareto_panels(rows, costs):
        out.append(pareto_figure(panel, out_dir / file_slug(f"pareto_{panel.title}")).png)
    return out


def build_report(
    study_dir: str | Path,
    out_dir: str | Path | None = None,
    add_records: Sequence[str | Path] = (),
) -> Report:
    """Write the report of ``study_dir`` (its ``results.sqlite`` must exist), with the seeds of
    earlier reports' ``records.csv`` files ``add_records`` it does not have itself
    (:mod:`robustssl.experiments.imported`); see the module docstring for what is written."""
    study = Path(study_dir)
    out = Path(out_dir) if out_dir is not None else study / "report"
    with ResultsStore(study, create=False) as store:
        rows, stages = store.rows(), store.stages()
        plan = read_plan(study)
        old, idle = superseded_stages(stages, plan), unplanned_unfinished(stages, plan)
        rows = [r for r in rows if r["stage"] not in old]
        stages = [s for s in stages if s["name"] not in old | idle]
        own = {int(seed) for seed in map(stage_seed, stages) if seed != "–"}
        rows, added = add_seeds(study, rows, own, [Path(p) for p in add_records])
        rows = in_plan_order(rows, plan)
        tables = smoke_marked(seed_tables(rows), rows)
        fig_dir = out / "figures"
        figures = curve_figures(rows, fig_dir) + confusion_figures(rows, fig_dir)
        figures += tsne_figures(store, stages, fig_dir) + stage_figures(store, stages, fig_dir)
        figures += pareto_figures(store, rows, fig_dir)
    write_tables(tables, out / "tables")
    (out / "records.csv").write_text(records_csv(rows))
    findings = [r for r in rows if r["metric"] == "diagnostic"]
    notes = report_notes(superseded=len(old), idle=len(idle), added=added)
    page = render_index(study, tables, figures, findings, stages, out)
    if notes:
        text = "".join(f'<p class="note">{html.escape(n.replace("**", ""))}</p>' for n in notes)
        page = page.replace("</h1>", f"</h1>{text}", 1)
    if any(r.get("tags.smoke") for r in rows):
        page = page.replace("<h1>", f'<p class="smoke"><strong>{SMOKE_NOTE}</strong></p><h1>', 1)
    index = out / "index.html"
    index.write_text(page)
    seeds = {int(r["seed"]) for r in rows if r.get("seed") is not None} | own
    scope = _metric_seeds(rows, seeds) if added else _entry_seeds(_experiment(study))
    (out / RESULTS_MD).write_text(
        _results_md(
            study,
            tables,
            stages=stages,
            findings=findings,
            notes=notes,
            seeds=seeds,
            scope=scope,
            command_tail="".join(f" --add-records {a.path.name}" for a in added),
        )
    )
    return Report(out, index, tables, figures, len(findings))


def in_plan_order(
    rows: list[dict[str, Any]], plan: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """``rows`` stably sorted by where their model's entry first comes in the plan (the
    experiment file's order), so a table's rows do not follow the order stages happened to
    finish in (``--jobs``, seeds added from files); models the plan lacks keep their place last."""
    order: dict[str, int] = {}
    for stage in plan or []:
        order.setdefault(entry_name(str(stage["name"])), len(order))
    return sorted(rows, key=lambda r: order.get(entry_name(str(r.get("model"))), len(order)))


def report_notes(*, superseded: int, idle: int, added: Sequence[AddedSeeds]) -> list[str]:
    """The report's lines on what it left out of the study's store and what it added."""
    notes = [SUPERSEDED_NOTE.format(n=superseded)] if superseded else []
    if idle:
        notes.append(IDLE_NOTE.format(n=idle))
    for a in added:
        notes.append(a.describe())
        if not a.complete:
            notes.append(
                f"**INCOMPLETE**: the seeds from `{a.path.name}` have records of "
                f"{a.stages_found} of {a.stages_planned} planned evaluation stages; cells they "
                "would fill hold fewer seeds (each cell states its n)."
            )
    return notes


RESULTS_MD = "results.md"


def _results_md(
    study: Path,
    tables: list[Table],
    *,
    stages: list[dict[str, Any]],
    findings: list[dict[str, Any]],
    notes: Sequence[str],
    seeds: set[int],
    scope: str,
    command_tail: str = "",
) -> str:
    experiment = _experiment(study)
    description = " ".join(str(experiment.get("description") or "").split())
    header = [f"{description}", ""] if description else []
    header += [
        f"- Generated {now()} by robustssl {code_version()} from `{study.name}/{STORE}` "
        f"(`robustssl report {study.name}{command_tail}`).",
        f"- Seeds: {', '.join(map(str, sorted(seeds))) or '–'}{scope}; a "
        "cell over several seeds shows mean ± sample std (number of records).",
        *(f"- {n}" for n in notes),
    ]
    return results_markdown(
        title=_title(study, experiment),
        header=header,
        tables=tables,
        stages=stages,
        findings=findings,
    )


SUPERSEDED_NOTE = (
    "Left out: {n} stages of an earlier version of the experiment file (a current stage has their "
    "entry, labels and seed with other settings) and their records (`robustssl results` lists "
    "them)."
)
IDLE_NOTE = (
    "Not counted: {n} unfinished stages that the last run did not plan (seeds or entries of an "
    "earlier run; `robustssl results` lists them)."
)
SMOKE_NOTE = "SMOKE RUN (--smoke): a check that everything runs, NOT a result"


def smoke_marked(tables: list[Table], rows: list[dict[str, Any]]) -> list[Table]:
    """``tables`` whose titles and captions say SMOKE RUN when any record is a smoke run's
    (robustssl.runs.smoke), so no exported table is taken for a result."""
    if not any(r.get("tags.smoke") for r in rows):
        return tables
    return [
        replace(
            t,
            title=f"[SMOKE RUN] {t.title}",
            caption=f"{SMOKE_NOTE}. {t.caption}".strip(),
        )
        for t in tables
    ]


def _findings_html(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return "<p>No gradient-masking finding was recorded (diagnostics off or all clean).</p>"
    head = ("Model", "Norm", "ε", "Check", "Severity", "Value", "Message")
    rows = []
    for r in findings:
        sev = str(r["info"].get("severity", "?"))
        value = "–" if r["value"] is None else f"{r['value']:.4g}"
        cells = (
            r["model"],
            r["norm"] or "–",
            format_eps(r["eps"], r["norm"]),
            r["attack"] or "–",
            sev,
            value,
            r["info"].get("message", ""),
        )
        tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        rows.append(f'<tr class="data sev-{html.escape(sev)}">{tds}</tr>')
    ths = "".join(f"<th>{h}</th>" for h in head)
    return (
        f'<table class="results" id="table-findings"><caption>Gradient-masking findings'
        f"</caption><thead><tr>{ths}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def stage_seed(stage: dict[str, Any]) -> str:
    """The seed a stage ran with (its config's ``seed``), "–" when it does not say."""
    seed = stage.get("config", {}).get("seed")
    return "–" if seed is None else str(seed)


def _stages_html(stages: list[dict[str, Any]]) -> str:
    head = ("Kind", "Name", "Seed", "Status", "Seconds", "Error")
    rows = []
    for s in stages:
        secs = "–" if s["seconds"] is None else f"{s['seconds']:.1f}"
        cells = (s["kind"], s["name"], stage_seed(s), s["status"], secs, s["error"] or "")
        rows.append(
            '<tr class="data">'
            + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            + "</tr>"
        )
    ths = "".join(f"<th>{h}</th>" for h in head)
    configs = "".join(
        f"<details><summary>{html.escape(s['kind'])} {html.escape(s['name'])}: config and "
        f"labels</summary><pre>{html.escape(json.dumps(s['config'], indent=1))}\n"
        f"{html.escape(json.dumps(s['labels']))}</pre></details>"
        for s in stages
        if s["config"] or s["labels"]
    )
    return (
        f'<table class="results" id="table-stages"><caption>Stages</caption><thead><tr>{ths}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>{configs}"
    )


def _experiment(study: Path) -> dict[str, Any]:
    """The runner's ``experiment.yaml`` of ``study`` ({} when missing or unreadable)."""
    import yaml

    try:
        raw = yaml.safe_load((study / EXPERIMENT).read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _entry_seeds(experiment: dict[str, Any]) -> str:
    """The Seeds line's "; evaluation `autoattack` on seed 0 only" for the evaluate entries the
    experiment file runs for some of its seeds (an entry's ``seeds:``)."""
    entries = experiment.get("evaluate")
    notes = [
        f"evaluation `{name}` on seed{'s' if len(e['seeds']) > 1 else ''} "
        f"{', '.join(map(str, e['seeds']))} only"
        for name, e in (entries.items() if isinstance(entries, dict) else [])
        if isinstance(e, dict) and isinstance(e.get("seeds"), list) and e["seeds"]
    ]
    return "".join(f"; {n}" for n in notes)


def _metric_seeds(rows: list[dict[str, Any]], seeds: set[int]) -> str:
    """The Seeds line's "; `aa` records of seed 0 only" for accuracy metrics some seeds lack:
    with seeds added from files the study's own experiment file cannot say where entries ran."""
    found: dict[str, set[int]] = {}
    for r in rows:
        if is_accuracy(r.get("metric")) and r.get("seed") is not None:
            found.setdefault(str(r["metric"]), set()).add(int(r["seed"]))
    notes = [
        f"`{metric}` records of seed{'s' if len(have) > 1 else ''} "
        f"{', '.join(map(str, sorted(have)))} only"
        for metric, have in found.items()
        if have < seeds
    ]
    return "".join(f"; {n}" for n in notes)


def study_title(study: Path) -> str:
    """The study's name from the runner's ``experiment.yaml``, else the directory name."""
    return _title(study, _experiment(study))


def _title(study: Path, experiment: dict[str, Any]) -> str:
    name = experiment.get("name")
    return str(name) if name else study.name


def render_index(
    study: Path,
    tables: list[Table],
    figures: list[Path],
    findings: list[dict[str, Any]],
    stages: list[dict[str, Any]],
    out: Path,
) -> str:
    """The static ``index.html``."""
    esc = html.escape
    parts = [
        f"<h1>Robustness study: {esc(study_title(study))}</h1>",
        f"<p>Generated {esc(now())} by robustssl {esc(code_version())} from "
        f"{esc(str(study / STORE))}; {len(tables)} tables, {len(figures)} "
        f"figures, {len(findings)} gradient-masking findings.</p>",
        '<nav><a href="#tables">Tables</a> · <a href="#figures">Figures</a> · '
        '<a href="#findings">Gradient masking</a> · <a href="#config">Config</a> · '
        '<a href="#stages">Stages</a></nav>',
        '<h2 id="tables">Tables</h2>',
    ]
    if not tables:
        parts.append("<p>No record fills a seed table yet.</p>")
    for t in tables:
        links = " ".join(
            f'<a href="tables/{esc(t.name)}.{ext}">{ext}</a>' for ext in ("md", "csv", "tex")
        )
        parts += [to_html(t), f'<p class="links">{links}</p>']
    parts.append('<h2 id="figures">Figures</h2>')
    for f in figures:
        rel = f.relative_to(out).as_posix()
        parts.append(
            f'<figure><img src="{esc(rel)}" alt="{esc(f.stem)}">'
            f'<figcaption>{esc(f.stem)} (<a href="{esc(rel[:-4])}.svg">svg</a>)'
            "</figcaption></figure>"
        )
    parts += ['<h2 id="findings">Gradient-masking findings</h2>', _findings_html(findings)]
    config = study_config(study)
    parts.append('<h2 id="config">Study config</h2>')
    parts.append(
        f"<p>{esc(config[0])}</p><pre>{esc(config[1])}</pre>"
        if config
        else f"<p>No experiment file ({', '.join(CONFIG_FILES)}) in the study dir.</p>"
    )
    parts += ['<h2 id="stages">Stages</h2>', _stages_html(stages)]
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>robustssl report: {esc(study_title(study))}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
