"""``build_report`` and the ``robustssl results`` / ``robustssl report`` commands."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from reportfix import EXPERIMENT, build_study

from robustssl.cli import main
from robustssl.experiments.report import Report, build_report
from robustssl.experiments.store import ResultsStore


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    study = tmp_path_factory.mktemp("study")
    build_study(study)
    return study, build_report(study)


def test_report_files(report: tuple[Path, Report]) -> None:
    study, rep = report
    assert rep.out_dir == study / "report" and rep.index.is_file()
    for t in rep.tables:
        for ext in ("md", "csv", "tex"):
            assert (rep.out_dir / "tables" / f"{t.name}.{ext}").stat().st_size > 0
    names = sorted(p.name for p in rep.figures)
    assert names == [
        "advcl_alf_land.png",
        "confusion_advcl_alf_Linf_0.1_s0.png",
        "confusion_advcl_slf_Linf_0.1_s0.png",
        "confusion_simclr_alf_Linf_0.1_s0.png",
        "confusion_simclr_slf_Linf_0.1_s0.png",
        "confusion_supervised_slf_Linf_0.1_s0.png",
        "curves_fashion_mnist.png",
        "tsne_advcl_alf_default_encoder_Linf.png",
    ]
    assert all(p.is_file() and p.with_suffix(".svg").is_file() for p in rep.figures)
    assert all(p.name.isascii() and " " not in p.name for p in rep.figures)
    with ResultsStore(study) as store:
        n = store.count()
    with (rep.out_dir / "records.csv").open() as f:
        assert len(list(csv.DictReader(f))) == n
    assert rep.findings == 1


def test_file_names_type_in_any_shell() -> None:
    from robustssl.experiments.formats import file_slug

    name = file_slug("pareto_fmnist slf: PGD-20 α=ε/4 at 0.1")
    assert name == "pareto_fmnist_slf_PGD-20_a_eps_4_at_0.1"


def test_index_html_is_self_contained(report: tuple[Path, Report]) -> None:
    _, rep = report
    page = rep.index.read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) == len(rep.figures)
    assert all(not s.startswith("/") and (rep.out_dir / s).is_file() for s in srcs)
    for t in rep.tables:
        assert f'id="table-{t.name}"' in page
    assert page.count('<tr class="data sev-warning">') == 1
    assert "Square beat PGD by 3.0 pp" in page
    assert "demo &lt;study&gt;" in page and EXPERIMENT not in page  # the config, escaped
    assert page.count("<details>") == 5  # each finetune stage's config and labels


def test_results_markdown(report: tuple[Path, Report]) -> None:
    """results.md: every table with its settings, the stage counts and the masking warning."""
    study, rep = report
    text = (rep.out_dir / "results.md").read_text()
    assert text.startswith("# Results: demo <study>\n\nKucer et al. 2021 at toy scale\n")
    for t in rep.tables:
        assert f"**{t.title}**" in text
    assert text.count("Settings — ") == len(rep.tables)
    with ResultsStore(study) as store:
        stages = store.stages()
    done = sum(s["status"] == "complete" for s in stages)
    assert f"- Stages: {done} of {len(stages)} complete" in text
    assert ("INCOMPLETE" in text) == (done < len(stages))
    assert "1 warning." in text and "Square beat PGD by 3.0 pp" in text


def test_results_markdown_names_one_seed_entries(tmp_path: Path) -> None:
    """An evaluate entry run for some seeds only (``seeds:``) is named in the Seeds line."""
    build_study(tmp_path)
    (tmp_path / "experiment.yaml").write_text(
        EXPERIMENT + "evaluate:\n  aa: {finetune: slf, seeds: [0]}\n  rob: {finetune: slf}\n"
        "  curve: {finetune: slf, seeds: [0, 2]}\n"
    )
    text = (build_report(tmp_path).out_dir / "results.md").read_text()
    line = next(x for x in text.splitlines() if x.startswith("- Seeds: "))
    assert line.endswith(
        "; evaluation `aa` on seed 0 only; evaluation `curve` on seeds 0, 2 only; a cell over "
        "several seeds shows mean ± sample std (number of records)."
    )
    assert "`rob`" not in line


def test_report_needs_a_store(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no results store"):
        build_report(tmp_path)


def test_results_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "study"
    runs = build_study(tmp_path / "runs_only")
    args = ["results", str(study), *[a for r in runs[:2] for a in ("--ingest", str(r))]]
    assert main([*args, "--filter", "metric=sa"]) == 0
    out = capsys.readouterr().out
    assert "ingested" in out and out.count("new") == 2
    # the listing: labels, the attack's tag, n, seed, then the value in %
    assert "(accuracies in %)" in out
    assert re.search(
        r"supervised\s+slf\s+supervised_slf\s+fashion_mnist\s+sa\s+–\s+–\s+clean\s+100\s+0\s+"
        r"91\.0000%",
        out,
    )
    assert main(["results", str(study), "--filter", "metric=ra"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"supervised_slf\s+fashion_mnist\s+ra\s+Linf\s+0\.1\s+PGD-20 α=ε/4\s+100", out)
    csv_path = tmp_path / "pivot.csv"
    pivot = ["--pivot", "rows=method,protocol", "cols=eps"]
    assert (
        main(["results", str(study), "--filter", "metric=accuracy", *pivot, "--csv", str(csv_path)])
        == 0
    )
    # CSV: the stored fractions at full precision; columns carry the attack's tag
    pgd = "PGD-20 α=ε/4 (fraction)"
    assert csv_path.read_text().splitlines() == [
        f"method,protocol,eps=0 (fraction),eps=0.05 {pgd},eps=0.1 {pgd}",
        "supervised,slf,0.91,0.4,0.05",
        "simclr,slf,0.8,0.35,0.1",
    ]
    assert "supervised  slf       91.00%" in capsys.readouterr().out  # the terminal shows %
    assert main(["results", str(study), "--filter", "metric=ra", "attack_tag=AA-standard"]) == 1
    assert "no records match" in capsys.readouterr().out
    # an unknown metric or key is an error naming what is allowed, never "no results"
    assert main(["results", str(study), "--filter", "metric=nothing"]) == 2
    assert "unknown metric 'nothing'; metrics: " in capsys.readouterr().err
    assert main(["results", str(study), "--filter", "methd=simclr"]) == 2
    assert "unknown filter key 'methd'; keys: " in capsys.readouterr().err
    assert main(["results", str(study), "--pivot", "rows=methd", "cols=eps"]) == 2
    err = capsys.readouterr().err
    assert "unknown pivot key 'methd'; keys: " in err and "method" in err
    assert main(["results", str(study), "--filter", "metric"]) == 2
    assert "is not key=value" in capsys.readouterr().err
    assert main(["results", str(study), "--pivot", "cols=eps"]) == 2
    assert main(["results", str(tmp_path / "missing")]) == 2
    assert "no results store" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


def test_report_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_study(tmp_path)
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'out' / 'index.html'} (5 tables, 8 figures, 1" in out
    assert main(["report", str(tmp_path / "nothing")]) == 2


def test_rows_follow_the_plan_not_the_finishing_order() -> None:
    """Tables list models in the experiment file's order, whatever order stages finished in."""
    from robustssl.experiments.report import in_plan_order

    plan = [
        {"name": "a-1111aaaa"},
        {"name": "b-2222bbbb"},
        {"name": "a-slf-3333cccc"},
        {"name": "b-slf-4444dddd"},
        {"name": "a-alf-5555eeee"},
    ]
    finished = ["a-alf-9999ffff", "x-slf-12345678", "b-slf-4444dddd", "a-slf-0000aaaa"]
    rows = [{"model": m, "i": i} for i, m in enumerate(finished)]  # other seeds: other hashes
    ordered = [r["model"] for r in in_plan_order(rows, plan)]
    assert ordered == ["a-slf-0000aaaa", "b-slf-4444dddd", "a-alf-9999ffff", "x-slf-12345678"]
    assert in_plan_order(rows, None) == rows
