"""What seed 000 §6 reports, printed next to our numbers by ``robustssl toy``.

Keys are (experiment, metric, ε); values are the seed's percentages or findings in words. Metrics:
clean / pgd (α = ε/2, 10 steps) / pgd50 (α = 0.1ε, 50 steps) / certified accuracy on the standard
samples, extended-clean = accuracy on the whole extended dataset.
"""

from __future__ import annotations

SEED_FILE = "000_1fde5da063130210.txt"

Key = tuple[str, str, float | None]

_TRIANGLE_SQUARE = """
hand-made  | certified | 0.1  | 100 (proved for ε < 0.5, §6.1)
hand-made  | certified | 0.4  | 100 (proved for ε < 0.5)
hand-made  | certified | 0.49 | 100 (proved for ε < 0.5)
hand-made  | certified | 0.5  | ambiguous from ε = 0.5 (Fig. 18b)
hand-made  | certified | 0.51 | ambiguous
standard   | clean     |      | 100 (20 epochs)
standard   | pgd       | 0.1  | 99 (Table 4)
standard   | pgd       | 0.2  | 54 (Table 4)
standard   | pgd       | 0.3  | 11 (Table 4)
standard   | pgd       | 0.4  | 0 (Table 4)
fgsm-at    | clean     |      | – (filters closer to the shapes, Fig. 20)
"""

_LT = """
hand-made           | certified      | 0.4  | 100 (ε < 0.5, as §6.1)
standard            | clean          |      | 100
standard            | pgd            | 0.3  | 100 (drops only for ε > 0.3)
standard            | pgd            | 0.4  | 12 (20 and 200 epochs)
extended            | extended-clean |      | 100 (§6.2.2)
extended            | pgd            | 0.4  | 100 (§6.2.2)
extended            | pgd50          | 0.4  | 100 (Fig. 26)
extended            | pgd50          | 0.44 | 100 (Fig. 26)
extended            | pgd50          | 0.46 | slow drop from 0.46 (Fig. 27)
extended            | pgd50          | 0.5  | 0 expected (ambiguous)
extended            | certified      | 0.4  | 100 (theorem of §6.2.2, via Assumption 1)
in_boundary+pattern | extended-clean |      | 100 (200 epochs)
in_boundary+pattern | pgd            | 0.4  | 37 (5 of 8 wrong)
symmetric+pattern   | pgd50          | 0.4  | < 100 (a counter-example, Fig. 24)
corners+canvas      | pgd            | 0.4  | 100 (Fact 2: standard images not needed)
"""


def _parse(text: str) -> dict[Key, str]:
    table: dict[Key, str] = {}
    for line in text.strip().splitlines():
        experiment, metric, eps, value = (part.strip() for part in line.split("|"))
        table[(experiment, metric, float(eps) if eps else None)] = value
    return table


TRIANGLE_SQUARE = _parse(_TRIANGLE_SQUARE)
LT = _parse(_LT)


def seed_value(table: dict[Key, str], key: Key) -> str:
    """The seed's value for ``key``, or "" when the seed reports none."""
    return table.get(key, "")
