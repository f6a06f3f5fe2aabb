"""The HTML report in a real browser: headless Chromium (Debian ``chromium``; ``.ci/run`` installs
it) loads ``index.html`` from disk, every image must decode (naturalWidth > 0) and every table
must have the rows the records imply; a screenshot is kept under the test's tmp dir.

The page itself has no script: the check runs in a copy of it with a small script appended,
saved next to it so relative image paths resolve the same way.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from reportfix import build_study

from robustssl.experiments.report import build_report
from robustssl.experiments.store import ResultsStore

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (apt-get install -y chromium); CI installs it",
)
CHECK = """<script>
window.addEventListener("load", () => {
  const images = [...document.images].map(i => ({src: i.getAttribute("src"),
    width: i.naturalWidth, height: i.naturalHeight, complete: i.complete}));
  const tables = [...document.querySelectorAll("table")].map(t => ({id: t.id,
    rows: t.querySelectorAll("tbody tr.data").length,
    columns: t.querySelector("thead tr:last-child").children.length}));
  const out = document.createElement("pre");
  out.id = "robustssl-check";
  out.textContent = JSON.stringify({images, tables});
  document.body.appendChild(out);
});
</script>"""


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def test_report_opens_in_chromium(tmp_path: Path) -> None:
    study = tmp_path / "study"
    build_study(study)
    report = build_report(study)
    checked = report.index.with_name("index_check.html")
    checked.write_text(report.index.read_text().replace("</body>", CHECK + "</body>"))
    dom = _chromium(
        "--virtual-time-budget=10000", "--dump-dom", checked.as_uri(), profile=tmp_path / "profile"
    ).stdout
    found = re.search(r'<pre id="robustssl-check">(.*?)</pre>', dom, re.S)
    assert found, f"the check script did not run; DOM starts {dom[:300]!r}"
    result = json.loads(html.unescape(found.group(1)))

    images = result["images"]
    assert len(images) == len(report.figures) == 8
    for img in images:
        assert img["complete"] and img["width"] > 0 and img["height"] > 0, img
        with Image.open(report.out_dir / img["src"]) as png:
            assert (img["width"], img["height"]) == png.size

    with ResultsStore(study) as store:
        n_stages = len(store.stages())
    expected = {
        f"table-{t.name}": (len(t.rows), len(t.row_header) + len(t.columns)) for t in report.tables
    }
    expected["table-findings"] = (1, 7)
    expected["table-stages"] = (n_stages, 6)  # kind, name, seed, status, seconds, error
    shown = {t["id"]: (t["rows"], t["columns"]) for t in result["tables"]}
    assert shown == expected
    assert shown["table-method_eps_fashion_mnist_Linf"] == (5, 4)  # 5 models × ε 0, 0.05, 0.1

    shot = tmp_path / "report.png"
    _chromium(
        "--window-size=1280,2400",
        f"--screenshot={shot}",
        report.index.as_uri(),
        profile=tmp_path / "profile",
    )
    with Image.open(shot) as img:
        assert img.size == (1280, 2400)
        assert len(np.unique(np.asarray(img.convert("L")))) > 10  # not a blank page
