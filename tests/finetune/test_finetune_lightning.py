"""Finetuning on the shared Lightning machinery (issue 16): ALF / AFF in bf16-mixed on the CPU,
2-process DDP (gloo) for ALF, and a bit-identical resume after an interrupt in mid-epoch."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from robustssl.finetune import CLASSIFIER_FILE, finetune
from robustssl.utils.checkpoint import load_weights, save_weights

ADV = {"eps": 0.1, "steps": 2, "step_size": 0.05}


class HeadDtypes(L.Callback):
    """Records the dtype of every output of the classifier's head while training."""

    def __init__(self) -> None:
        self.dtypes: set[torch.dtype] = set()

    def on_fit_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        def hook(module: torch.nn.Module, args: Any, out: torch.Tensor) -> None:
            self.dtypes.add(out.dtype)

        self.handle = pl_module.classifier.head.register_forward_hook(hook)

    def on_fit_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self.handle.remove()


@pytest.mark.parametrize(
    ("protocol", "loss"),
    [
        ("alf", "ce"),
        ("aff", "trades"),
        pytest.param("alf", "trades", marks=pytest.mark.slow),
        pytest.param("aff", "ce", marks=pytest.mark.slow),
    ],
)
def test_bf16_mixed_trains_alf_and_aff_in_bfloat16(
    make_run, make_config, protocol: str, loss: str
) -> None:
    """A random width-16 encoder's features of the learnable fake images are separable enough
    for the head (ALF) to reach 40–50 % in fp32 and bf16 alike (chance: 10 %)."""
    cfg = make_config(
        make_run(backbone_kwargs={"width": 16}),
        protocol,
        name=f"{protocol}-{loss}",
        adversary={"eps": 0.03, "steps": 2, "step_size": 0.015},
        loss=loss,
        trainer={"accelerator": "cpu", "precision": "bf16-mixed"},
        optim={"epochs": 6, "milestones": [], "lr": 0.05, "name": "adam"},
    )
    dtypes = HeadDtypes()
    result = finetune(cfg, extra_callbacks=[dtypes])
    assert dtypes.dtypes == {torch.bfloat16}  # the attack's forwards and the step's
    assert math.isfinite(result.metrics["train_loss"])
    assert result.metrics["clean_accuracy"] > 0.25  # ≥ 11 of 40 test images
    weights = load_weights(result.run_dir / CLASSIFIER_FILE)
    floats = [v for v in weights.values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in floats)


def test_32_true_trains_in_float32(make_run, make_config) -> None:
    """The dtype check above can fail: without bf16 the head computes in float32."""
    cfg = make_config(make_run(), "alf", adversary=ADV, optim={"epochs": 1, "milestones": []})
    dtypes = HeadDtypes()
    finetune(cfg, extra_callbacks=[dtypes])
    assert dtypes.dtypes == {torch.float32}


class RecordShards(L.Callback):
    """Each rank writes the indices its loader yields per epoch and its final weights."""

    def __init__(self, out: str) -> None:
        self.out = out

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        loader = trainer.train_dataloader
        indices = torch.cat(loader.batches()).tolist()  # this rank's batches of this epoch
        path = Path(self.out) / f"rank{trainer.global_rank}-epoch{trainer.current_epoch}.json"
        path.write_text(json.dumps({"world": trainer.world_size, "indices": indices}))

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        path = Path(self.out) / f"rank{trainer.global_rank}.safetensors"
        save_weights(pl_module.classifier, path)


def test_ddp_two_cpu_processes_train_alf_on_disjoint_shards(
    tmp_path: Path, make_run, make_config
) -> None:
    """ddp_spawn over gloo: the ranks see disjoint halves of every epoch, end with equal
    weights, and (no random start, no BatchNorm in the head) reach the single-process head."""
    run = make_run()
    adv = {**ADV, "random_start": False}
    common: dict[str, Any] = {"adversary": adv, "optim": {"epochs": 2, "milestones": []}}
    ddp = {"accelerator": "cpu", "devices": 2, "strategy": "ddp_spawn"}
    out = tmp_path / "shards"
    out.mkdir()
    result = finetune(
        make_config(run, "alf", name="ddp", trainer=ddp, **common),
        extra_callbacks=[RecordShards(str(out))],
    )
    single = finetune(make_config(run, "alf", name="single", **common))
    for epoch in range(2):
        shards = [json.loads((out / f"rank{r}-epoch{epoch}.json").read_text()) for r in (0, 1)]
        assert [s["world"] for s in shards] == [2, 2]
        a, b = (set(s["indices"]) for s in shards)
        assert a.isdisjoint(b) and len(a) == len(b) == 60
        assert a | b == set(range(120))  # every training image, once
    w0, w1 = (load_weights(out / f"rank{r}.safetensors") for r in (0, 1))
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    saved = load_weights(result.run_dir / CLASSIFIER_FILE)
    expected = load_weights(single.run_dir / CLASSIFIER_FILE)
    assert saved.keys() == w0.keys() and all(torch.equal(saved[k], w0[k]) for k in saved)
    torch.testing.assert_close(saved["head.fc.weight"], expected["head.fc.weight"])
    torch.testing.assert_close(saved["head.fc.bias"], expected["head.fc.bias"])
    rows = (result.run_dir / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]


class InterruptMidEpoch(L.Callback):
    """Ctrl-C at the third step of the second epoch."""

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, idx: int):
        if trainer.current_epoch == 1 and idx == 2:
            raise KeyboardInterrupt


def test_alf_resumes_bit_identically_after_an_interrupt_mid_epoch(
    tmp_path: Path, make_run, make_config
) -> None:
    run = make_run()
    extra = {
        "adversary": ADV,
        "loss": "trades",
        "augmentation": {"name": "crop_flip"},
        "optim": {"epochs": 3, "milestones": [2], "name": "adam", "lr": 0.01},
    }
    full = finetune(make_config(run, "alf", name="full", **extra))
    cfg = make_config(run, "alf", name="cut", **extra)
    with pytest.raises(KeyboardInterrupt):
        finetune(cfg, extra_callbacks=[InterruptMidEpoch()])
    cut = tmp_path / "runs" / "cut"
    assert not (cut / CLASSIFIER_FILE).exists()
    assert len((cut / "metrics.csv").read_text().splitlines()) == 2  # epoch 1 only
    resumed = finetune(cfg, resume=True)
    a = load_weights(full.run_dir / CLASSIFIER_FILE)
    b = load_weights(resumed.run_dir / CLASSIFIER_FILE)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["head.fc.weight"], torch.zeros_like(a["head.fc.weight"]))
    keys = ("clean_accuracy", "train_loss", "train_accuracy")
    assert all(resumed.metrics[k] == full.metrics[k] for k in keys)
    rows = (cut / "metrics.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3"]


def test_a_state_file_of_the_earlier_format_is_refused_clearly(
    tmp_path: Path, make_run, make_config
) -> None:
    cfg = make_config(make_run(), "slf")
    with pytest.raises(KeyboardInterrupt):
        finetune(cfg, extra_callbacks=[InterruptMidEpoch()])
    state = tmp_path / "runs" / "slf" / "state" / "last.safetensors"
    progress = {"epoch": 1, "rows": [], "seconds": 1.0}
    save_weights(
        {"model.x": torch.zeros(1)},
        state,
        {"progress": progress, "param_groups": [], "scalars": {}},
    )
    before = state.read_bytes()
    with pytest.raises(ValueError, match=r"finetuning state .*earlier robustssl version.*move"):
        finetune(cfg, resume=True)
    assert state.read_bytes() == before
