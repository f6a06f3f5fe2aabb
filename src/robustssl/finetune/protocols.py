"""The finetuning protocols: which part of the network trains, on clean or adversarial data.

| protocol | encoder | data | source |
|---|---|---|---|
| ``slf`` | frozen (eval mode) | clean | seed 001 eq. 3, §5 (SLF); seed 000 §4.2 (readout) |
| ``alf`` | frozen (eval mode) | adversarial | seed 001 §5.3 Table 3; seed 000 §4.3 (APGD-10) |
| ``aff`` | trained | adversarial | seed 001 §5 Table 1 (AFF); seed 003 §4.2 (PGD-10) |
| ``sff`` | trained | clean | seed 004 "fine-tuned" column (whole network + MLP head) |
| ``partial`` | first k stages frozen | clean or adversarial | SPEC §6 (frozen early layers) |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Protocol:
    """``encoder``: which encoder parameters train; ``adversarial``: whether training examples are
    attacked ("optional" = when the config has an adversary section)."""

    name: str
    encoder: Literal["frozen", "trained", "partial"]
    adversarial: Literal["never", "always", "optional"]
    source: str
    description: str


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            "slf",
            "frozen",
            "never",
            "seed 001 eq. 3 and §5; seed 000 §4.2",
            "standard linear finetuning: frozen encoder, head on clean data",
        ),
        Protocol(
            "alf",
            "frozen",
            "always",
            "seed 001 §5.3 Table 3; seed 000 §4.3",
            "adversarial linear finetuning: frozen encoder, head on adversarial examples",
        ),
        Protocol(
            "aff",
            "trained",
            "always",
            "seed 001 §5 Table 1; seed 003 §4.2",
            "adversarial full finetuning: whole network on adversarial examples",
        ),
        Protocol(
            "sff",
            "trained",
            "never",
            "seed 004 Table 1 (fine-tuned)",
            "standard full finetuning: whole network on clean data",
        ),
        Protocol(
            "partial",
            "partial",
            "optional",
            "SPEC §6",
            "first freeze_stages backbone stages frozen, the rest trained (clean or adversarial)",
        ),
    )
}


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name`` (case-insensitive); a ValueError lists the known ones."""
    protocol = PROTOCOLS.get(str(name).lower())
    if protocol is None:
        raise ValueError(f"unknown protocol {name!r}; known protocols: {', '.join(PROTOCOLS)}")
    return protocol
