"""Several processes writing one results store at once: no lost and no duplicated rows.

Each worker ingests its own run directories, ingests one run directory that every worker also
ingests (so the same records race for insertion), registers stages and inserts records of its own
in many small transactions. Afterwards the row count is exact, every expected identity is there
once with its value, and the shared records were inserted by exactly one worker.
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from studyfix import write_run

from robustssl.evaluation.records import RecordContext
from robustssl.experiments.store import ResultsStore

WORKERS = 4
OWN_RUNS = 3
PER_RUN = 40
INSERT_BATCHES = 15
PER_BATCH = 4
SHARED = 60


def _records(model: str, n: int, offset: float = 0.0) -> list:
    ctx = RecordContext(model=model, pretraining="simclr", finetune="slf", dataset="toy")
    return [
        ctx.record("accuracy", offset + i / 1000, 10, norm="Linf", eps=i / 500) for i in range(n)
    ]


def _worker(
    study: str, root: str, worker: int, barrier: mp.synchronize.Barrier, out: mp.Queue
) -> None:
    barrier.wait()
    shared_inserted = 0
    with ResultsStore(study, timeout=5.0, retries=50) as store:
        for j in range(OWN_RUNS):
            store.ingest(Path(root) / f"w{worker}_run{j}")
            shared_inserted += store.ingest(Path(root) / "shared").inserted
        sid = store.add_stage("evaluate", f"direct_{worker}")
        for b in range(INSERT_BATCHES):
            store.insert_records(_records(f"direct_{worker}_{b}", PER_BATCH, worker), stage_id=sid)
            store.set_status(sid, "running")
    out.put((worker, shared_inserted))


def test_concurrent_writers_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    root, study = tmp_path / "runs", tmp_path / "study"
    for w in range(WORKERS):
        for j in range(OWN_RUNS):
            write_run(root, f"w{w}_run{j}", _records(f"w{w}_run{j}", PER_RUN))
    write_run(root, "shared", _records("shared", SHARED))
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(str(study), str(root), w, barrier, out))
        for w in range(WORKERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    results = dict(out.get(timeout=5) for _ in range(WORKERS))

    assert sum(results.values()) == SHARED  # each shared record inserted by exactly one worker
    expected = WORKERS * OWN_RUNS * PER_RUN + SHARED + WORKERS * INSERT_BATCHES * PER_BATCH
    with ResultsStore(study) as store:
        rows = store.rows()
        stages = store.stages()
    assert len(rows) == expected
    assert len({(r["model"], r["eps"]) for r in rows}) == expected
    by_model: dict[str, list[float]] = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r["value"])
    assert len(by_model["shared"]) == SHARED
    for w in range(WORKERS):
        assert sorted(by_model[f"w{w}_run0"]) == [i / 1000 for i in range(PER_RUN)]
        assert sorted(by_model[f"direct_{w}_{INSERT_BATCHES - 1}"]) == [
            w + i / 1000 for i in range(PER_BATCH)
        ]
    # one stage per run dir plus the shared one plus one direct stage per worker
    assert len(stages) == WORKERS * OWN_RUNS + 1 + WORKERS
    assert {s["name"] for s in stages if s["kind"] == "evaluate"} == {
        f"direct_{w}" for w in range(WORKERS)
    }
