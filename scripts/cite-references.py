#!/usr/bin/env python3
"""User-facing docs name the source documents (docs/references.md), never "seed 00x" or files
outside the repository.

    python scripts/cite-references.py          # check README.md and docs/*.md; exit 1 on a hit
    python scripts/cite-references.py --fix    # "seed 001 Table 1" → "Fan et al. 2021 Table 1"

The first mention of each document per file links to its entry in docs/references.md; mentions in
code blocks and inline code stay plain text. Code docstrings keep citing seed files (they are for
developers); tests/test_doc_references.py runs the check.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAMES = {
    "000": ("Farivar 2022", "farivar-2022"),
    "001": ("Fan et al. 2021", "fan-et-al-2021"),
    "002": ("Sergio 2022", "sergio-2022"),
    "003": ("Kucer et al. 2021", "kucer-et-al-2021"),
    "004": ("Campbell et al. 2020", "campbell-et-al-2020"),
}
NUM = r"00[0-4]"
SEP = r"(?:\s*/\s*|,\s*|\s+and\s+|\s+or\s+|\s*[–-]\s*)"
MENTION = re.compile(rf"\b[Ss]eeds? ({NUM}(?:{SEP}{NUM})*)('s)?")
OUTSIDE = re.compile(
    r"\.\./shared|shared/seeds|/work/|\bSPEC\b|SPEC\.md|REFERENCE_FACTS|ARCHITECTURE\.md"
)
BARE = re.compile(r"\|\s*00[0-4]\b|\bseed §")  # "| 001 Table 3 |" cells, "seed §6.1"


def user_docs() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _in_inline_code(line: str, pos: int) -> bool:
    return line[:pos].count("`") % 2 == 1


class _Citer:
    """Replaces mentions in one file, linking each document's first mention."""

    def __init__(self, link_prefix: str) -> None:
        self.prefix = link_prefix
        self.linked: set[str] = set()

    def name(self, num: str, plain: bool) -> str:
        text, anchor = NAMES[num]
        if plain or num in self.linked:
            return text
        self.linked.add(num)
        return f"[{text}]({self.prefix}#{anchor})"

    def line(self, line: str, fenced: bool) -> str:
        def replace(m: re.Match[str]) -> str:
            plain = fenced or _in_inline_code(line, m.start())
            body = re.sub(NUM, lambda n: self.name(n.group(0), plain), m.group(1))
            return re.sub(r"\s*/\s*", " / ", body) + (m.group(2) or "")

        return MENTION.sub(replace, line)


def rewrite(path: Path) -> str:
    """The file's text with every mention replaced (first one per document linked)."""
    citer = _Citer("docs/references.md" if path.parent == REPO else "references.md")
    out = []
    fenced = False
    for line in path.read_text().splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(citer.line(line, fenced))
    return "".join(out)


def problems(path: Path) -> list[str]:
    found = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        checks = (
            (MENTION, "names a seed number"),
            (BARE, "names a seed number"),
            (OUTSIDE, "points outside the repository"),
        )
        for pattern, what in checks:
            if pattern.search(line):
                found.append(f"{path.relative_to(REPO)}:{i}: {what}: {line.strip()[:100]}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fix", action="store_true", help="rewrite seed numbers as names")
    parser.add_argument("files", nargs="*", type=Path, help="default: README.md, docs/*.md")
    args = parser.parse_args(argv)
    files = [p.resolve() for p in args.files] or user_docs()
    if args.fix:
        for path in files:
            new = rewrite(path)
            if new != path.read_text():
                path.write_text(new)
                print(f"rewrote {path.relative_to(REPO)}")
    left = [p for path in files for p in problems(path)]
    print("\n".join(left) or "docs cite the references by name")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
