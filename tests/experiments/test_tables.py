"""The seeds' table layouts from stored records, against hand-built Markdown (numbers from the
seeds themselves), plus CSV / LaTeX / HTML renderings and the generic pivot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from studyfix import CONFIGS, attacked, write_study

from robustssl.evaluation.records import EvalRecord, RecordContext
from robustssl.experiments.formats import (
    Table,
    latex_escape,
    to_csv,
    to_html,
    to_latex,
    to_markdown,
    to_text,
)
from robustssl.experiments.points import format_eps, format_fraction
from robustssl.experiments.store import ResultsStore
from robustssl.experiments.tables import (
    attack_tables,
    eps_train_tables,
    feature_difference_tables,
    finetune_columns_tables,
    finetune_gain_tables,
    label_fraction_tables,
    listing,
    method_eps_tables,
    pivot,
    pivot_spec,
    pretrain_finetune_tables,
    seed_tables,
)


def _rows(tmp_path: Path, stages: list[tuple[dict[str, Any], list[EvalRecord]]]) -> list[dict]:
    with ResultsStore(tmp_path) as store:
        for i, (labels, records) in enumerate(stages):
            sid = store.add_stage("finetune", f"s{i}", labels=labels)
            store.insert_records(records, stage_id=sid)
        return store.rows()


PGD_CAPTION = (
    "PGD-20 α=ε/4: batch_size=256, loss=ce, restarts=1, step_size_rule=auto, steps=20; n=100"
)


def _means(table: Table) -> list[list[float | None]]:
    """The cells' means as shown (in %), for comparisons."""
    return [
        [None if c is None else round(c.mean * table.scale_of(i, j), 6) for j, c in enumerate(row)]  # type: ignore[union-attr]
        for i, row in enumerate(table.cells)
    ]


def _ctx(method: str, protocol: str = "slf", dataset: str = "cifar10") -> RecordContext:
    return RecordContext(
        model=f"{method}_{protocol}_{dataset}",
        pretraining=method,
        finetune=protocol,
        dataset=dataset,
    )


def _curve(ctx: RecordContext, norm: str, points: dict[float, float]) -> list[EvalRecord]:
    return [
        ctx.record("accuracy", a, 100, norm=norm, eps=e, **attacked("pgd"))
        for e, a in points.items()
    ]


def test_method_eps_seed003_layout(tmp_path: Path) -> None:
    t0 = _curve(_ctx("Baseline T0"), "Linf", {0: 0.8546, 3 / 255: 0.7209, 8 / 255: 0.4469})
    t3 = _curve(_ctx("SS T3"), "Linf", {0: 0.8461, 3 / 255: 0.7333})
    (table,) = method_eps_tables(_rows(tmp_path, [({}, t0), ({}, t3)]))
    # every number sits under the tag of the attack that produced it; the caption spells it out
    assert to_markdown(table) == (
        "**Top-1 accuracy (%) on cifar10 at ε_test (L∞)**\n\n"
        "| Method / ε_test | clean 0 | PGD-20 α=ε/4 3/255 | PGD-20 α=ε/4 8/255 |\n"
        "| :--- | ---: | ---: | ---: |\n"
        "| Baseline T0 | 85.46 | 72.09 | 44.69 |\n"
        "| SS T3 | 84.61 | 73.33 | – |\n"
        "\n"
        f"Settings — clean: no attack; n=100 | {PGD_CAPTION}.\n"
    )
    # CSV: the stored fractions at full precision, the header says so
    assert to_csv(table).splitlines() == [
        "Method / ε_test,clean 0 (fraction),PGD-20 α=ε/4 3/255 (fraction),"
        "PGD-20 α=ε/4 8/255 (fraction)",
        "Baseline T0,0.8546,0.7209,0.4469",
        "SS T3,0.8461,0.7333,",
    ]


def test_curve_beats_ra_beats_sa_and_corruptions_are_ignored(tmp_path: Path) -> None:
    ctx = _ctx("m")
    records = [
        ctx.record("sa", 0.90, 100),
        ctx.record("sa", 0.10, 100, tags={"corruption": "fog", "severity": 1}),
        ctx.record("ra", 0.50, 100, norm="L2", eps=0.5, **attacked("pgd")),
        ctx.record("ra", 0.45, 100, norm="L2", eps=0.25, **attacked("pgd")),
        ctx.record("accuracy", 0.60, 100, norm="L2", eps=0.25, **attacked("pgd")),
    ]
    (table,) = method_eps_tables(_rows(tmp_path, [({}, records)]))
    assert table.columns == [
        ("clean", "0"),
        ("PGD-20 α=2.5ε/20", "0.25"),
        ("PGD-20 α=2.5ε/20", "0.5"),
    ]
    assert _means(table) == [[90.0, 60.0, 50.0]]


def test_pretrain_finetune_seed001_table1_layout(tmp_path: Path) -> None:
    numbers = {  # seed 001 Table 1 (CIFAR-10 and CIFAR-100 columns)
        ("Supervised", "slf"): ((0.4222, 0.444, 0.7977), (0.1953, 0.2341, 0.5053)),
        ("AdvCL", "slf"): ((0.4257, 0.5045, 0.8085), (0.1978, 0.2767, 0.4834)),
        ("Supervised", "aff"): ((0.4619, 0.4989, 0.7986), (0.2161, 0.2586, 0.5222)),
        ("AdvCL", "aff"): ((0.4977, 0.5277, 0.8362), None),
    }
    stages = []
    for (method, protocol), per_dataset in numbers.items():
        for dataset, nums in zip(("cifar10", "cifar100"), per_dataset, strict=True):
            if nums is None:
                continue
            ctx, (aa, ra, sa) = _ctx(method, protocol, dataset), nums
            stages.append(
                (
                    {},
                    [
                        ctx.record("aa", aa, 100, norm="Linf", eps=8 / 255, **attacked("aa")),
                        ctx.record("ra", ra, 100, norm="Linf", eps=8 / 255, **attacked("pgd")),
                        ctx.record("sa", sa, 100),
                    ],
                )
            )
    (table,) = pretrain_finetune_tables(_rows(tmp_path, stages))
    aa, ra = "AA(%) AA-standard", "RA(%) PGD-20 α=ε/4"
    c = f"cifar10 {aa} | cifar10 {ra} | cifar10 SA(%) | cifar100 {aa} | cifar100 {ra} | "
    assert to_markdown(table).split("\n\nSettings — ")[0] + "\n" == (
        "**AA / RA / SA (%) by pretraining and finetuning, L∞ ε = 8/255**\n\n"
        f"| Pretraining Method | Finetuning Method | {c}cifar100 SA(%) |\n"
        "| :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        "| Supervised | Standard linear finetuning (SLF) | 42.22 | 44.40 | 79.77 | 19.53 | 23.41 "
        "| 50.53 |\n"
        "| AdvCL |  | 42.57 | 50.45 | 80.85 | 19.78 | 27.67 | 48.34 |\n"
        "| Supervised | Adversarial full finetuning (AFF) | 46.19 | 49.89 | 79.86 | 21.61 | 25.86 "
        "| 52.22 |\n"
        "| AdvCL |  | 49.77 | 52.77 | 83.62 | – | – | – |\n"
    )
    tex = to_latex(table)
    assert r"\multicolumn{3}{c}{cifar10} & \multicolumn{3}{c}{cifar100} \\" in tex
    assert r"\cmidrule(lr){3-5} \cmidrule(lr){6-8}" in tex
    assert (
        r"Pretraining Method & Finetuning Method & AA(\%) AA-standard & "
        r"RA(\%) PGD-20 $\alpha$=$\epsilon$/4 & SA(\%)" in tex
    )
    assert r"AdvCL &  & 49.77 & 52.77 & 83.62 & -- & -- & -- \\" in tex
    assert tex.count(r"\\") == 1 + 1 + 4  # group header, column header, 4 rows
    assert "AA-standard: attacks=apgd-ce,apgd-t,fab-t,square, batch_size=256" in table.caption
    html = to_html(table)
    assert '<th colspan="3">cifar10</th>' in html and html.count('<tr class="data">') == 4


def test_finetune_columns_seed001_table3_layout(tmp_path: Path) -> None:
    stages = []
    for method, (slf, alf) in {
        "Supervised": ((0.444, 0.7977), (0.4675, 0.7906)),
        "AdvCL": ((0.5045, 0.8085), (0.5201, 0.7939)),
    }.items():
        for protocol, (ra, sa) in (("slf", slf), ("alf", alf)):
            ctx = _ctx(method, protocol)
            stages.append(
                (
                    {},
                    [
                        ctx.record("ra", ra, 100, norm="Linf", eps=8 / 255, **attacked("pgd")),
                        ctx.record("sa", sa, 100),
                    ],
                )
            )
    (table,) = finetune_columns_tables(_rows(tmp_path, stages))
    ra = "RA(%) PGD-20 α=ε/4"
    assert to_markdown(table).splitlines()[2:6] == [
        f"| Method | SLF {ra} | SLF SA(%) | ALF {ra} | ALF SA(%) |",
        "| :--- | ---: | ---: | ---: | ---: |",
        "| Supervised | 44.40 | 79.77 | 46.75 | 79.06 |",
        "| AdvCL | 50.45 | 80.85 | 52.01 | 79.39 |",
    ]


def test_threat_tables_leave_out_models_attacked_only_under_other_threats(
    tmp_path: Path,
) -> None:
    """Seed 003's layout: L2-trained models attacked under L2 only, L∞ ones under L∞ only, and
    a model not attacked at all; each threat's table lists its own models (and the unattacked
    one), never the others' clean accuracy beside "–"."""
    stages = []
    for method, norm, eps, ra in (("T0 L2", "L2", 1.0, 0.58), ("T0 Linf", "Linf", 0.1, 0.47)):
        for protocol, shift in (("slf", 0.0), ("alf", 0.05)):
            ctx = _ctx(method, protocol)
            recs = [
                ctx.record("ra", ra + shift, 100, norm=norm, eps=eps, **attacked("pgd")),
                ctx.record("sa", 0.7 + shift, 100),
            ]
            stages.append(({}, recs))
    stages.append(({}, [_ctx("clean only").record("sa", 0.9, 100)]))
    rows = _rows(tmp_path, stages)
    l2, linf = pretrain_finetune_tables(rows)
    assert [r[0] for r in l2.rows] == ["T0 L2", "clean only", "T0 L2"]
    assert _means(l2) == [[58.0, 70.0], [None, 90.0], [63.0, 75.0]]
    assert [r[0] for r in linf.rows] == ["T0 Linf", "clean only", "T0 Linf"]
    assert _means(linf) == [[47.0, 70.0], [None, 90.0], [52.0, 75.0]]
    l2_cols, linf_cols = finetune_columns_tables(rows)
    assert l2_cols.rows == [("T0 L2",), ("clean only",)]
    assert linf_cols.rows == [("T0 Linf",), ("clean only",)]
    assert _means(linf_cols) == [[47.0, 70.0, 52.0, 75.0], [None, 90.0, None, None]]


def _eps_train_stages() -> list[tuple[dict[str, Any], list[EvalRecord]]]:
    stages = []  # seed 002 Tables 5.1 (accuracy) and 5.3 (MCC), first two rows and columns
    for eps_train, accs, mccs in (
        (0.0, (0.7479, 0.4345), (0.460, 0.21)),
        (0.2, (0.7081, 0.599), (0.433, 0.345)),
    ):
        ctx = RecordContext(
            model=f"ross_{eps_train}", pretraining="simclr", finetune="slf", dataset="cifar10"
        )
        labels = {"threat": "L2" if eps_train else "none", "eps_train": eps_train}
        recs = _curve(ctx, "L2", {0.0: accs[0], 0.2: accs[1]})
        pgd = attacked("pgd")
        recs += [
            ctx.record("mcc", mccs[0], 100, tags={"data": "clean"}),
            ctx.record("mcc", mccs[1], 100, norm="L2", eps=0.2, tags={"data": "pgd"}, **pgd),
        ]
        stages.append((labels, recs))
    return stages


def test_eps_train_seed002_accuracy_and_mcc(tmp_path: Path) -> None:
    rows = _rows(tmp_path, _eps_train_stages())
    (acc,) = eps_train_tables(rows, "accuracy")
    (mcc,) = eps_train_tables(rows, "mcc")
    header = (
        "| Fine-Tuned Model ε | Evaluation ε Parameter (clean) 0 | "
        "Evaluation ε Parameter (PGD-20 α=2.5ε/20) 0.2 |"
    )
    assert to_markdown(acc).split("\n\nSettings")[0] + "\n" == (
        "**Accuracy simclr (SLF) on cifar10, L2**\n\n" + header + "\n"
        "| :--- | ---: | ---: |\n| 0 | 74.79 | 43.45 |\n| 0.2 | 70.81 | 59.90 |\n"
    )
    assert to_markdown(mcc).splitlines()[0] == "**MCC simclr (SLF) on cifar10, L2**"
    assert to_markdown(mcc).splitlines()[2] == header
    assert to_markdown(mcc).splitlines()[4:6] == [
        "| 0 | 0.460 | 0.210 |",
        "| 0.2 | 0.433 | 0.345 |",
    ]
    assert to_csv(mcc).splitlines()[1] == "0,0.46,0.21"  # MCC is no fraction: no unit
    # a single ε_train is not an ε_train × ε_test table
    assert eps_train_tables(_rows(tmp_path / "one", _eps_train_stages()[:1])) == []


def test_finetune_gain_seed002_table56(tmp_path: Path) -> None:
    stages = []
    for protocol, accs in (("alf", (0.5844, 0.5458)), ("slf", (0.6157, 0.5541))):
        stages.append(({}, _curve(_ctx("RoSS", protocol), "L2", {0.0: accs[0], 0.2: accs[1]})))
    (table,) = finetune_gain_tables(_rows(tmp_path, stages))
    md = to_markdown(table).splitlines()
    assert md[2].endswith("| Evaluation ε Parameter (PGD-20 α=2.5ε/20) 0.2 |")
    assert md[4:8] == [
        "| RoSS ALF | 58.44 | 54.58 |",
        "| RoSS SLF | 61.57 | 55.41 |",
        "| **Robustness Improvement** |  |  |",
        "| RoSS (ALF − SLF) | -3.13 | -0.83 |",
    ]


def test_label_fraction_seed004_table1(tmp_path: Path) -> None:
    numbers = {  # seed 004 Table 1
        ("supervised", "slf"): (0.9393, 0.6439, 0.3092),
        ("simclr", "slf"): (0.7479, 0.7083, 0.6756),
        ("simclr", "sff"): (0.7705, 0.7136, None),
    }
    stages = []
    for (method, protocol), accs in numbers.items():
        for fraction, acc in zip((1.0, 0.1, 0.01), accs, strict=True):
            if acc is not None:
                ctx = _ctx(f"{method}", protocol)
                ctx = RecordContext(f"{ctx.model}_{fraction}", method, protocol, "cifar10")
                stages.append(({"label_fraction": fraction}, [ctx.record("sa", acc, 100)]))
    (table,) = label_fraction_tables(_rows(tmp_path, stages))
    assert to_markdown(table).splitlines()[2:7] == [
        "| % of Labels Available at Train Time | supervised (SLF) | simclr (SLF) | simclr (SFF) |",
        "| :--- | ---: | ---: | ---: |",
        "| 100% | 93.93% | 74.79% | 77.05% |",
        "| 10% | 64.39% | 70.83% | 71.36% |",
        "| 1% | 30.92% | 67.56% | – |",
    ]


def test_attack_seed000_figure14_table(tmp_path: Path) -> None:
    stages = []
    for method, (sa, fgsm, pgd, aa) in {
        "simclr": (0.91, 0.21, 0.0, 0.0),
        "supervised": (0.94, 0.35, 0.0062, 0.0),
    }.items():
        ctx = _ctx(method)
        recs = [ctx.record("sa", sa, 100)]
        recs += [
            ctx.record("breakdown", v, 100, norm="Linf", eps=8 / 255, **attacked(a))
            for a, v in (("worst_case", aa), ("aa", aa), ("pgd", pgd), ("fgsm", fgsm))
        ]
        stages.append(({}, recs))
    (table,) = attack_tables(_rows(tmp_path, stages))
    assert to_markdown(table).splitlines()[2:6] == [
        "| Model | clean | FGSM | PGD-20 α=ε/4 | AA-standard | worst case |",
        "| :--- | ---: | ---: | ---: | ---: | ---: |",
        "| simclr | 91.00 | 21.00 | 0.00 | 0.00 | 0.00 |",
        "| supervised | 94.00 | 35.00 | 0.62 | 0.00 | 0.00 |",
    ]


def test_feature_difference_seed000_table2(tmp_path: Path) -> None:
    stages = []
    for method, stats, seed in (
        ("simclr", (17.8, 3.0, 17.0, 30.0), 0),
        ("simclr", (18.2, 3.4, 17.4, 31.0), 1),
        ("barlow", (14.9, 2.0, 14.5, 22.0), 0),
    ):
        ctx = _ctx(method)
        recs = [
            ctx.record(
                f"feature_diff_{name}",
                v,
                100,
                norm="Linf",
                eps=8 / 255,
                seed=seed,
                tags={"layer": "encoder"},
                **attacked("apgd-ce"),
            )
            for name, v in zip(("mean", "std", "median", "max"), stats, strict=True)
        ]
        recs.append(ctx.record("sa", 0.9, 100, seed=seed))  # not a feature statistic: left out
        stages.append(({}, recs))
    (table,) = feature_difference_tables(_rows(tmp_path, stages))
    assert "encoder features" in table.title and "8/255" in table.title
    lines = to_markdown(table).splitlines()
    assert lines[2:6] == [
        "| Model | mean | std | median | max |",
        "| :--- | ---: | ---: | ---: | ---: |",
        "| simclr | 18.000 ± 0.283 (2) | 3.200 ± 0.283 (2) | 17.200 ± 0.283 (2) "
        "| 30.500 ± 0.707 (2) |",
        "| barlow | 14.900 | 2.000 | 14.500 | 22.000 |",
    ]
    assert "APGD" in table.caption


def test_seed_tables_on_a_study(tmp_path: Path) -> None:
    with ResultsStore(tmp_path) as store:
        for run in write_study(tmp_path):
            store.ingest(run)
        rows = store.rows()
    names = [t.name for t in seed_tables(rows)]
    assert names == [
        "method_eps_fashion_mnist_Linf",
        "pretrain_finetune_Linf_0.1",
        "finetune_columns_fashion_mnist_Linf_0.1",
        "finetune_gain_fashion_mnist_Linf_alf_slf",
        "attacks_fashion_mnist_Linf_0.1",
    ]
    (method_eps,) = method_eps_tables(rows)
    # the runs differ in protocol and training threat, so those label the rows
    assert [r[0] for r in method_eps.rows] == [
        "supervised (SLF, ε_train=0)",
        "simclr (SLF, ε_train=0)",
        "simclr (ALF, ε_train=0)",
        "advcl (SLF, L∞ ε_train=0.1)",
        "advcl (ALF, L∞ ε_train=0.1)",
    ]
    assert _means(method_eps)[0] == pytest.approx([91.0, 40.0, 5.0])


def test_formats_escape_and_validate() -> None:
    assert latex_escape("a_b & 50% ε→∞") == r"a\_b \& 50\% $\epsilon$$\rightarrow$$\infty$"
    with pytest.raises(ValueError, match="2 rows × 1 columns"):
        Table("t", "T", ("r",), [("a",), ("b",)], [("c",)], [[1.0]])
    t = Table("t", "T | x", ("r",), [("a|b",)], [("c",)], [[None]], caption="note")
    assert "a\\|b" in to_markdown(t) and to_markdown(t).endswith("\nnote\n")
    assert to_text(t).splitlines()[-2:] == ["a|b  –", "note"]
    assert (format_eps(8 / 255, "Linf"), format_eps(0.1, "Linf"), format_eps(0.5, "L2")) == (
        "8/255",
        "0.1",
        "0.5",
    )
    assert [format_fraction(f) for f in (1.0, 0.1, 0.01)] == ["100%", "10%", "1%"]


def test_pivot_and_listing(tmp_path: Path) -> None:
    ctx_a, ctx_b = _ctx("a"), _ctx("b")
    rows = _rows(
        tmp_path,
        [
            ({}, _curve(ctx_a, "Linf", {0.0: 0.9, 0.1: 0.5})),
            ({}, [*_curve(ctx_b, "Linf", {0.1: 0.3}), ctx_b.record("sa", 0.8, 10)]),
        ],
    )
    table = pivot([r for r in rows if r["metric"] == "accuracy"], ["method"], "eps")
    assert table.rows == [("a",), ("b",)]
    assert table.columns == [("eps=0",), ("eps=0.1 PGD-20 α=ε/4",)]
    assert _means(table) == [[90.0, 50.0], [None, 30.0]]  # accuracies: scale 100
    assert to_text(table).splitlines()[3] == "a       90.00%                50.00%"
    assert pivot_spec({"rows": "method,protocol", "cols": "eps"}) == (
        ["method", "protocol"],
        "eps",
        "value",
    )
    with pytest.raises(ValueError, match="rows=KEY"):
        pivot_spec({"cols": "eps"})
    flat = listing(rows)
    assert len(flat.rows) == 4 and flat.cells[-1] == [0.8]
    assert flat.row_header[-4:] == ("attack", "n", "seed", "tags")
    assert flat.rows[1][7:10] == ("PGD-20 α=ε/4", "100", "0")  # the attack's tag, n, seed
    assert to_text(flat).splitlines()[-1].endswith("80.0000%")
    assert to_csv(flat).splitlines()[0].endswith(",value (fraction)")
    assert to_csv(flat).splitlines()[-1].endswith(",0.8")


def _seeded(
    seed: int, sa: float, ra: float, model: str = "simclr_slf", method: str = "simclr"
) -> list[EvalRecord]:
    ctx = RecordContext(f"{model}_s{seed}", method, "slf", "cifar10", seed=seed)
    threat = {"norm": "Linf", "eps": 8 / 255}
    return [
        ctx.record("sa", sa, 100),
        ctx.record("ra", ra, 100, **threat, **attacked("pgd")),
        ctx.record("breakdown", ra, 100, **threat, **attacked("pgd")),
    ]


def test_seeds_are_shown_as_mean_std_and_count(tmp_path: Path) -> None:
    stages = [
        ({}, _seeded(s, sa, ra))
        for s, sa, ra in ((0, 0.80, 0.36), (1, 0.82, 0.364), (2, 0.81, 0.356))
    ]
    stages.append(({}, _seeded(0, 0.70, 0.20, model="other", method="other")))  # one seed
    rows = _rows(tmp_path, stages)
    (table,) = finetune_columns_tables(rows) or [None]  # one protocol: no Table 3
    assert table is None
    (table,) = method_eps_tables(rows)
    md = to_markdown(table)
    # RA 36.0, 36.4, 35.6 → mean 36.00, sample std 0.40, over 3 seeds; SA 81.00 ± 1.00 (3)
    assert "| simclr | 81.00 ± 1.00 (3) | 36.00 ± 0.40 (3) |" in md
    assert "| other | 70.00 | 20.00 |" in md and "same seed" not in md
    assert "Cells combining several records (seeds) show mean ± sample std" in md
    (cell,) = [c for c in table.cells[0] if c.mean < 0.5]
    assert (cell.n, cell.seeds) == (3, (0, 1, 2)) and cell.std == pytest.approx(0.004)
    csv_lines = to_csv(table).splitlines()
    assert csv_lines[0] == (
        "Method / ε_test,clean 0 (fraction),clean 0 std,clean 0 n,"
        "PGD-20 α=ε/4 8/255 (fraction),PGD-20 α=ε/4 8/255 std,PGD-20 α=ε/4 8/255 n"
    )
    mean, std, n = csv_lines[1].split(",")[4:7]
    assert float(mean) == pytest.approx(0.36) and float(std) == pytest.approx(0.004) and n == "3"


def test_cells_never_mix_attack_settings(tmp_path: Path) -> None:
    """Two evaluations of one model that differ only in PGD steps, or only in the batch size:
    every table keeps both numbers, each under its own label (issue 14)."""
    ctx = _ctx("simclr")
    pgd2 = {**CONFIGS["pgd"], "steps": 2}
    small_batch = {**CONFIGS["pgd"], "batch_size": 64}
    threat = {"norm": "Linf", "eps": 8 / 255, "attack": "pgd"}
    records = [
        ctx.record("sa", 0.8, 100),
        ctx.record("ra", 0.36, 100, attack_config=CONFIGS["pgd"], **threat),
        ctx.record("ra", 0.61, 100, attack_config=pgd2, **threat),
        ctx.record("ra", 0.37, 100, attack_config=small_batch, **threat),
    ]
    rows = _rows(tmp_path, [({}, records)])
    (pf,) = pretrain_finetune_tables(rows)
    assert pf.flat_columns() == [
        "cifar10 RA(%) PGD-20 α=ε/4 (batch_size=256)",
        "cifar10 RA(%) PGD-2 α=ε/4",
        "cifar10 RA(%) PGD-20 α=ε/4 (batch_size=64)",
        "cifar10 SA(%)",
    ]
    assert _means(pf) == [[36.0, 61.0, 37.0, 80.0]]
    (me,) = method_eps_tables(rows)
    assert [c[0] for c in me.columns] == [
        "clean",
        "PGD-20 α=ε/4 (batch_size=256)",
        "PGD-2 α=ε/4",
        "PGD-20 α=ε/4 (batch_size=64)",
    ]
    assert _means(me) == [[80.0, 36.0, 61.0, 37.0]]
    assert "PGD-2 α=ε/4: batch_size=256, loss=ce, restarts=1, step_size_rule=auto, steps=2" in (
        me.caption
    )


def test_pivot_refuses_unknown_keys_and_mixed_metrics_and_names_merged_models(
    tmp_path: Path,
) -> None:
    stages = [({}, _seeded(s, 0.8 + s / 100, 0.36)) for s in (0, 1)]
    stages.append(({"protocol": "alf"}, _seeded(0, 0.7, 0.5, model="simclr_alf")))
    rows = _rows(tmp_path, stages)
    with pytest.raises(ValueError, match=r"unknown pivot key 'methd'; keys: .*\bmethod\b"):
        pivot(rows, ["methd"], "eps")
    with pytest.raises(ValueError, match=r"average different metrics \(breakdown, ra\)"):
        pivot(rows, ["method"], "seed")  # RA and the breakdown's PGD share an attack tag
    table = pivot([r for r in rows if r["metric"] == "sa"], ["method"], "eps")
    # three models (two seeds of SLF, one ALF) in one cell: shown as such and named
    assert to_text(table).splitlines()[3].split() == ["simclr", "77.00%", "±", "6.08", "(3)*"]
    assert "differ in protocol;" in table.caption and "same seed" in table.caption
    by_protocol = pivot([r for r in rows if r["metric"] == "sa"], ["method", "protocol"], "eps")
    assert "differ in" not in by_protocol.caption
