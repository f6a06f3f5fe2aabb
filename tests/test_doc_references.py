"""User-facing docs cite the five source documents by name (docs/references.md), with no seed
numbers and no paths outside the repository (scripts/cite-references.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("cite", REPO / "scripts" / "cite-references.py")
assert spec is not None and spec.loader is not None
cite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cite)


def test_readme_and_docs_cite_by_name() -> None:
    found = [p for path in cite.user_docs() for p in cite.problems(path)]
    assert not found, "run python scripts/cite-references.py --fix:\n" + "\n".join(found)


def test_every_name_has_an_entry_with_bibtex() -> None:
    text = (REPO / "docs" / "references.md").read_text()
    headings = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^## (.+)$", text, flags=re.M)
    }
    for name, anchor in cite.NAMES.values():
        assert anchor in headings, name
    assert text.count("```bibtex") == len(cite.NAMES)


def test_links_in_docs_point_at_existing_anchors() -> None:
    anchors = {a for _, a in cite.NAMES.values()}
    for path in cite.user_docs():
        for anchor in re.findall(r"references\.md#([a-z0-9-]+)", path.read_text()):
            assert anchor in anchors, f"{path.name}: #{anchor}"


def test_rewrite(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    page = docs / "page.md"
    page.write_text(
        "As seed 001 Table 3 shows; seed 001's ALF; seeds 000/002 and seed 003.\n"
        "```yaml\n# seed 004 eq. 2\n```\n`seed 002` stays code.\n"
    )
    cite.REPO = tmp_path
    try:
        out = cite.rewrite(page)
    finally:
        cite.REPO = REPO
    first, *_ = out.splitlines()
    assert first == (
        "As [Fan et al. 2021](references.md#fan-et-al-2021) Table 3 shows; Fan et al. 2021's ALF; "
        "[Farivar 2022](references.md#farivar-2022) / [Sergio 2022](references.md#sergio-2022) "
        "and [Kucer et al. 2021](references.md#kucer-et-al-2021)."
    )
    assert "# Campbell et al. 2020 eq. 2" in out  # plain inside a code block
    assert "`Sergio 2022` stays code." in out
    assert not cite.MENTION.search(out)
