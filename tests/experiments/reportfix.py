"""A study with every kind of result the report shows, ingested into its store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from studyfix import write_diagnostic, write_study, write_tsne

from robustssl.experiments import figures as figs
from robustssl.experiments.store import ResultsStore

EXPERIMENT = (
    "name: demo <study>\ndescription: Kucer et al. 2021 at\n  toy scale\n"
    "methods: [supervised, simclr, advcl]\n"
)


def build_study(study: Path) -> list[Path]:
    """Runs with records, a diagnostic, a t-SNE file, a stage figure and an experiment file."""
    runs = write_study(study)
    write_diagnostic(runs[-1])
    write_tsne(runs[-1])
    a = np.linspace(-1, 1, 5)
    figs.landscape_figure(a, a, a[:, None] ** 2 + a[None, :] ** 2, runs[-1] / "figures" / "land")
    (study / "experiment.yaml").write_text(EXPERIMENT)
    with ResultsStore(study) as store:
        for run in runs:
            store.ingest(run)
    return runs
