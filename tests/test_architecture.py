"""The layers and the owners of docs/architecture.md hold in the code (issue 16).

docs/architecture.md is the one source of truth: its "Layers" table says which package sits on
which layer, its "One owner per concept" table which module owns each shared name. This test reads
both tables, walks every module of ``src/robustssl`` (its AST: module-level and function-level
imports alike) and fails on an upward or sideways import, on a second definition of an owned name
and on a run-directory file name spelled out anywhere but in ``robustssl.runs.layout``.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "robustssl"
DOC = ROOT / "docs" / "architecture.md"

# Names defined in more than one module today whose merge into one owner is under way (issue 16,
# the config part): name -> the modules other than the owner that still define it. Remove an entry
# when its duplicates are gone (the test below fails while an entry is stale); a module not listed
# here that defines an owned name fails the test.
PENDING_DUPLICATES: dict[str, frozenset[str]] = {}


# ---------------------------------------------------------------- reading the doc and the code


def _table(heading: str) -> list[list[str]]:
    """The rows (cells) of the first Markdown table after ``## heading`` in the doc."""
    text = DOC.read_text()
    start = text.index(f"\n## {heading}\n")
    rows, seen_table = [], False
    for line in text[start:].splitlines()[2:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            seen_table = True
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not set(cells[0]) <= set("-: "):
                rows.append(cells)
        elif seen_table:
            break
    return rows[1:]  # without the header


def _code(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def layers() -> dict[str, int]:
    """package (``robustssl.x`` or the root ``robustssl``) -> its layer number."""
    out = {}
    for cells in _table("Layers (lower never imports higher)"):
        for package in _code(cells[1]):
            out[package] = int(cells[0])
    return out


def owners() -> dict[str, str]:
    """owned name -> owning module."""
    out: dict[str, str] = {}
    for cells in _table("One owner per concept"):
        (module,) = _code(cells[1])
        for name in _code(cells[2]):
            assert name not in out, f"{name} has two rows in the owners table"
            out[name] = module
    return out


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = SRC) -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(root.rglob("*.py"))}


def imports(module: str, tree: ast.Module, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) for every import in ``tree``, relative ones resolved."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([target] if target else [])])
            out.append((node.lineno, target))
    return out


def package_of(module: str, known: dict[str, int]) -> str | None:
    """The layers-table entry ``module`` belongs to (longest prefix; the root ``robustssl`` only
    for itself, so a new subpackage must be added to the table), None when on no layer."""
    candidates = [p for p in known if module == p or (module.startswith(p + ".") and "." in p)]
    if not candidates:
        return None
    return max(candidates, key=len)


def upward_imports(trees: dict[str, ast.Module], known: dict[str, int]) -> list[str]:
    found = []
    for module, tree in trees.items():
        own = package_of(module, known)
        assert own is not None, f"{module} is on no layer: add its package to the Layers table"
        is_package = (SRC.parent / module.replace(".", "/") / "__init__.py").exists()
        for line, target in imports(module, tree, is_package):
            other = package_of(target, known)
            if other is None or other == own or known[other] < known[own]:
                continue
            found.append(
                f"{module}:{line} imports {target} (layer {known[other]} ≥ {own}'s {known[own]})"
            )
    return found


def definitions(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    """name -> modules that define it at module level (class, def or assignment)."""
    out: dict[str, set[str]] = defaultdict(set)
    for module, tree in trees.items():
        for node in tree.body:
            names: list[str] = []
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            for name in names:
                out[name].add(module)
    return out


def second_definitions(
    trees: dict[str, ast.Module],
    owned: dict[str, str],
    pending: dict[str, frozenset[str]] = PENDING_DUPLICATES,
) -> list[str]:
    defs = definitions(trees)
    found = []
    for name, owner in sorted(owned.items()):
        if owner not in defs.get(name, set()):
            found.append(f"{name}: the owners table says {owner}, which does not define it")
        others = defs.get(name, set()) - {owner} - pending.get(name, frozenset())
        found += [f"{name}: defined in {m} too; import it from {owner}" for m in sorted(others)]
    return found


# ---------------------------------------------------------------- the rules


def test_every_package_is_on_a_layer_and_no_import_goes_up() -> None:
    known = layers()
    assert known["robustssl.data"] < known["robustssl.models"] < known["robustssl.evaluation"]
    trees = modules()
    found = upward_imports(trees, known)
    assert len(trees) > 200 and not found, "\n".join(found)


def test_every_owned_name_has_one_definition() -> None:
    owned = owners()
    assert {"RunDir", "EvalRecord", "DISPLAY_KEYS", "AdversaryConfig"} <= set(owned)
    problems = second_definitions(modules(), owned)
    assert not problems, "\n".join(problems)


def test_pending_duplicates_are_still_pending() -> None:
    """A pending entry whose duplicates are gone must leave the list (so the rule applies)."""
    owned, defs = owners(), definitions(modules())
    for name, others in PENDING_DUPLICATES.items():
        assert name in owned, f"pending {name} is not in the owners table"
        gone = others - defs.get(name, set())
        assert not gone, f"{name} is no longer defined in {sorted(gone)}: update PENDING_DUPLICATES"


def test_run_directory_file_names_are_spelled_only_in_the_layout() -> None:
    from robustssl.runs import layout

    names = {
        value: key
        for key, value in vars(layout).items()
        if key.isupper() and isinstance(value, str) and "." in value
    }
    assert {"records.json", "encoder.safetensors", ".robustssl.lock"} <= set(names)
    found = [
        f"{module}:{node.lineno} spells {node.value!r}; use layout.{names[node.value]}"
        for module, tree in modules().items()
        if module != "robustssl.runs.layout"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
    ]
    assert not found, "\n".join(found)


# ---------------------------------------------------------------- the checks can fail


def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, ast.Module]:
    for rel, text in files.items():
        path = tmp_path / "robustssl" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    root = tmp_path / "robustssl"
    return {
        ".".join(p.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__"): (
            ast.parse(p.read_text())
        )
        for p in sorted(root.rglob("*.py"))
    }


def test_the_checks_catch_an_upward_import_and_a_twin(tmp_path: Path) -> None:
    trees = _package(
        tmp_path,
        {
            "__init__.py": "",
            "data/__init__.py": "",
            "data/load.py": "def f():\n    from robustssl.models.net import Net\n",
            "models/__init__.py": "",
            "models/net.py": "from robustssl.data import load\nclass Net: ...\n",
            "models/twin.py": "class Net: ...\nRunDir = 1\n",
        },
    )
    known = {"robustssl": 0, "robustssl.data": 1, "robustssl.models": 2}
    assert upward_imports(trees, known) == [
        "robustssl.data.load:2 imports robustssl.models.net (layer 2 ≥ robustssl.data's 1)"
    ]
    owned = {"Net": "robustssl.models.net", "RunDir": "robustssl.runs.rundir"}
    assert second_definitions(trees, owned, pending={}) == [
        "Net: defined in robustssl.models.twin too; import it from robustssl.models.net",
        "RunDir: the owners table says robustssl.runs.rundir, which does not define it",
        "RunDir: defined in robustssl.models.twin too; import it from robustssl.runs.rundir",
    ]
    assert package_of("robustssl.newpkg.mod", known) is None  # unlisted: on no layer
    pending = {"Net": frozenset({"robustssl.models.twin"})}
    assert second_definitions(trees, {"Net": "robustssl.models.net"}, pending) == []


@pytest.mark.parametrize(
    ("module", "source", "target"),
    [
        ("robustssl.data.load", "from . import x", "robustssl.data"),
        ("robustssl.data.load", "from ..models import y", "robustssl.models"),
        ("robustssl.data", "from .load import z", "robustssl.data.load"),
    ],
)
def test_relative_imports_are_resolved(module: str, source: str, target: str) -> None:
    is_package = module == "robustssl.data"
    assert imports(module, ast.parse(source), is_package) == [(1, target)]
