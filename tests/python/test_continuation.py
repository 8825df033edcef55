"""The TRL bundle continues a lab run exactly, splits it across processes without changing it, and hands it back.

Lab side: tests/python/lab_values.ts (`continuation`: a 6-step lab run of each objective checkpointed at
step 3 as `train --out` holds it, the CLI's `train --resume` of it to step 6, and the CLI's
`export --format trl --adapter <checkpoint folder>`; `dp`: SFT and CLO bundles of batch 4).
Checks, on the CPU in float32 with stories260K:
- the bundle's train.py continues at step 4 and its steps 4-6 equal the lab's resumed steps (1e-3), for
  SFT, DPO, ORPO, CLO and pt with trained rows of added tokens (PEFT trainable_token_indices);
- torchrun with 2 processes and accelerate with the bundle's CPU config give one process's losses (1e-4);
- the folder train.py writes resumes in the lab (`train --resume DIR --steps 8`) as train.py resumes it.
"""
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")

from test_interop import ROOT, node  # noqa: E402

TOL = 1e-3
DP_TOL = 1e-4
# pt: stories260K with 8 tokens added by the lab's `vocab`, their embedding rows trained (PEFT trainable tokens)
OBJECTIVES = ["sft", "dpo", "orpo", "clo", "pt"]
KEYS = ("loss", "loss/nll", "loss/pref", "rewards/chosen", "rewards/rejected", "rewards/margins")
ENV = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def run_py(args, cwd):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, env=ENV)
    assert p.returncode == 0, p.stderr[-3000:]
    return [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]


def steps_of(lines):
    return [x for x in lines if "step" in x and "loss" in x]


def assert_same(got, want, tol, lr=True):
    assert [x["step"] for x in got] == [x["step"] for x in want]
    for g, w in zip(got, want):
        for k in KEYS:
            if k in w and k in g:
                assert abs(g[k] - w[k]) <= tol, (g["step"], k, g[k], w[k])
        if lr:
            assert abs(g["lr"] - w["lr"]) <= 1e-9, (g["step"], g["lr"], w["lr"])


@pytest.fixture(scope="session")
def cont(tmp_path_factory):
    out = tmp_path_factory.mktemp("cont")
    node("tests/python/lab_values.ts", "continuation", str(out), *OBJECTIVES)
    return out / "cont"


@pytest.fixture(scope="session")
def py_cont(cont):
    """train.py of each bundle exported at step 3, run to the planned end: {objective: step lines}."""
    return {o: steps_of(run_py([sys.executable, "train.py", "--cpu", "--output-dir", str(cont / o / "py")], cont / o / "bundle")) for o in OBJECTIVES}


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_bundle_from_a_checkpoint_continues_the_lab_run(cont, py_cont, objective):
    state = json.loads((cont / objective / "bundle/state/lab_state.json").read_text())
    assert state["step"] == 3 and state["config"]["steps"] == 6
    lab = json.loads((cont / objective / "ck3_resumed/run.json").read_text())["metrics"]
    got = py_cont[objective]
    assert [x["step"] for x in got] == [4, 5, 6]
    assert_same(got, lab[3:6], TOL)
    # the steps differ from a fresh start: the state matters
    assert abs(got[0]["loss"] - lab[0]["loss"]) > 10 * TOL


@pytest.mark.parametrize("o", ["clo", "pt"])
def test_train_py_output_resumes_in_the_lab(cont, py_cont, o):
    py_dir = cont / o / "py"
    for f in ("adapter_model.safetensors", "optimizer.safetensors", "lab_state.json", "trainer_state.json"):
        assert (py_dir / f).exists(), f
    assert json.loads((py_dir / "lab_state.json").read_text())["step"] == 6
    lab_dir = cont / o / "py_lab"
    shutil.copytree(py_dir, lab_dir)
    node("cli/lab.ts", "train", "--resume", str(lab_dir), "--steps", "8", "--backend", "wasm", "--json")
    lab = json.loads((lab_dir / "run.json").read_text())["metrics"]
    want = steps_of(run_py([sys.executable, "train.py", "--cpu", "--resume", str(py_dir), "--max-steps", "8", "--output-dir", str(cont / o / "py8")], cont / o / "bundle"))
    assert [x["step"] for x in want] == [7, 8]
    assert_same(want, lab[6:8], TOL)


@pytest.fixture(scope="session")
def dp(tmp_path_factory):
    out = tmp_path_factory.mktemp("dp")
    node("tests/python/lab_values.ts", "dp", str(out), "sft", "clo")
    return out / "dp"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def torchrun(n):
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(n), "--master_addr", "127.0.0.1", "--master_port", free_port()]


@pytest.mark.parametrize("objective", ["sft", "clo"])
def test_data_parallel_equals_one_process(dp, objective):
    b = dp / objective / "bundle"
    one = steps_of(run_py([sys.executable, "train.py", "--cpu", "--output-dir", str(b.parent / "one")], b))
    assert [x["step"] for x in one] == [1, 2, 3]
    two = steps_of(run_py([*torchrun(2), "train.py", "--cpu", "--output-dir", str(b.parent / "two")], b))
    assert_same(two, one, DP_TOL)
    if objective == "clo":
        acc = steps_of(run_py([sys.executable, "-m", "accelerate.commands.launch", "--main_process_ip", "127.0.0.1", "--main_process_port", free_port(), "--config_file", "accelerate_config_cpu.yaml", "train.py", "--cpu", "--output-dir", str(b.parent / "acc")], b))
        assert_same(acc, one, DP_TOL)
