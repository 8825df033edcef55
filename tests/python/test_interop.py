"""Interop with the real Hugging Face stack (torch, transformers, peft, trl, tokenizers).

The lab-side values come from the lab's engine (tests/python/lab_values.ts, run with Node + tsx; it
writes the exports with the lab's own code, and the TRL bundles with the CLI's export command).
Checks: tokenizer.json encodes as the lab; the merged export scores as the lab in LlamaForCausalLM;
a PEFT adapter on q/k/v/o/MLP loaded with PeftModel on the exported base scores as the lab with that
adapter (stories260K: interleaved RoPE + GQA 8/4; a HF Llama fixture: half RoPE + GQA 4/2); the
bundle's train.py runs 2 steps on the CPU for SFT, DPO, ORPO and CLO with step-1 loss = the lab's
(1e-3); the adapters it saves load into the lab and score as in peft.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("trl")

from peft import PeftModel  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-3
OBJECTIVES = ["sft", "dpo", "orpo", "clo"]


def node(*args):
    p = subprocess.run(["node", "--import", "tsx", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab")
    node("tests/python/lab_values.ts", "fixtures", str(out))
    return out


def load(path, adapter=None):
    m = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    if adapter is not None:
        m = PeftModel.from_pretrained(m, str(adapter))
    return m.eval()


@torch.no_grad()
def response_sums(model, items):
    """Σ log p(ids[t] | ids[:t]) over t ≥ start, one sequence at a time."""
    out = []
    for it in items:
        ids = torch.tensor([it["ids"]])
        logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
        tok = logp.gather(1, ids[0, 1:, None])[:, 0]
        out.append(float(tok[it["start"] - 1:].sum()))
    return out


def close(a, b, tol=TOL):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def test_tokenizer_json_encodes_like_the_lab(lab):
    ref = json.loads((lab / "stories/lab.json").read_text())
    tok = AutoTokenizer.from_pretrained(str(lab / "stories/base"))
    for text, ids in zip(ref["texts"], ref["encodings"]):
        assert tok(text)["input_ids"] == ids, text


def test_merged_export_scores_like_the_lab(lab):
    ref = json.loads((lab / "stories/lab.json").read_text())
    got = response_sums(load(lab / "stories/base"), ref["items"])
    assert close(got, ref["base"]), (got, ref["base"])


@pytest.mark.parametrize("which", ["stories", "fixture"])
def test_peft_adapter_on_exported_base_scores_like_the_lab(lab, which):
    ref = json.loads((lab / which / "lab.json").read_text())
    cfg = json.loads((lab / which / "adapter/adapter_config.json").read_text())
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} <= set(cfg["target_modules"])
    base = response_sums(load(lab / which / "base"), ref["items"])
    assert close(base, ref["base"]), (base, ref["base"])
    got = response_sums(load(lab / which / "base", lab / which / "adapter"), ref["items"])
    assert close(got, ref["adapter"]), (got, ref["adapter"])
    # the adapter matters: without the q/k fix these differ by far more than the tolerance
    assert max(abs(a - b) for a, b in zip(ref["adapter"], ref["base"])) > 0.05


@pytest.fixture(scope="session")
def trained(lab):
    """Runs every bundle's train.py for 2 steps on the CPU; returns {objective: (json lines, output dir)}."""
    res = {}
    for o in OBJECTIVES:
        b = lab / "bundles" / o / "bundle"
        outdir = lab / "bundles" / o / "py_out"
        p = subprocess.run([sys.executable, "train.py", "--max-steps", "2", "--cpu", "--output-dir", str(outdir)], cwd=b, capture_output=True, text=True, timeout=600, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        assert p.returncode == 0, p.stderr[-3000:]
        lines = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
        res[o] = (lines, outdir)
    return res


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_bundle_train_py_step1_loss_equals_the_lab(lab, trained, objective):
    lines, outdir = trained[objective]
    steps = [x for x in lines if "step" in x]
    assert [x["step"] for x in steps] == [1, 2]
    want = json.loads((lab / "bundles" / objective / "lab_step1.json").read_text())
    got = steps[0]
    for k in ("loss", "loss/nll", "loss/pref", "rewards/margins"):
        if k in want:
            assert abs(got[k] - want[k]) <= TOL, (k, got[k], want[k])
    assert abs(got["lr"] - want["lr"]) <= 1e-9
    assert (outdir / "adapter_model.safetensors").exists()


def test_adapters_trained_by_train_py_score_in_the_lab_as_in_peft(lab, trained):
    ref = json.loads((lab / "stories/lab.json").read_text())
    jobs = [{"adapter": str(trained[o][1]), "items": ref["items"]} for o in OBJECTIVES]
    job_file = lab / "score_jobs.json"
    job_file.write_text(json.dumps(jobs))
    lab_sums = json.loads(node("tests/python/lab_values.ts", "score", str(job_file)).strip().splitlines()[-1])
    for o, want in zip(OBJECTIVES, lab_sums):
        got = response_sums(load(lab / "stories/base", trained[o][1]), ref["items"])
        assert close(got, want), (o, got, want)
        assert not close(got, ref["base"], 1e-2), o  # trained and start adapters are not zero
