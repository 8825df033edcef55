"""KoBEST k-shot scores against lm-evaluation-harness itself.

The harness's own kobest tasks (their YAML and utils.py, copied from the installed package at test
time) run on the bundled KoBEST files converted to the hub dataset's field names, as
`dataset_path: json`, on the lab's merged export of stories260K. The lab scores the same items with
`eval --json` on stories260K. 5-shot contexts are far longer than the model's 512 positions, so this
checks the few-shot draws (the harness's `Random(1234).sample` per item), the separators and the
left truncation together: every per-choice log-likelihood must agree within 1e-4 relative.
"""
import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
lm_eval = pytest.importorskip("lm_eval")

ROOT = Path(__file__).resolve().parents[2]
TASKS = ["boolq", "copa", "hellaswag", "sentineg", "wic"]
SHOTS = 5
LIMIT = 20
SEED = 1234
REL_TOL = 1e-4


def hub_fields(task, r):
    """The KoBEST source fields (kept in the bundled files) → the skt/kobest_v1 hub fields."""
    if task == "boolq":
        return {"paragraph": r["Text"], "question": r["Question"], "label": int(r["Answer"].lower() == "true")}
    if task == "copa":
        return {
            "premise": r["sentence"],
            "question": r["question"],
            "alternative_1": r["1"],
            "alternative_2": r["2"],
            "label": int(r["Answer"]) - 1,
        }
    if task == "hellaswag":
        return {
            "context": r["context"],
            **{f"ending_{i}": r[f"choice{i}"] for i in range(1, 5)},
            "label": int(r["label"]),
        }
    if task == "sentineg":
        return {"sentence": r["Text"], "label": int(r["Label"])}
    if task == "wic":
        return {
            "word": r["Target"],
            "context_1": r["SENTENCE1"],
            "context_2": r["SENTENCE2"],
            "label": int(r["ANSWER"].lower() == "true"),
        }
    raise AssertionError(task)


def node(*args):
    p = subprocess.run(["node", "--import", "tsx", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def harness_tasks(folder):
    """The harness's kobest YAMLs pointed at local JSON files, in `folder`."""
    src = Path(lm_eval.__file__).parent / "tasks" / "kobest"
    shutil.copy(src / "utils.py", folder / "utils.py")
    for t in TASKS:
        for split in ("train", "test"):
            with gzip.open(ROOT / "public" / "data" / "kobest" / f"{t}.{split}.jsonl.gz", "rt", encoding="utf-8") as f:
                rows = [json.loads(line) for line in f if line.strip()]
            with open(folder / f"{t}.{split}.jsonl", "w", encoding="utf-8") as f:
                for r in rows:
                    f.write(json.dumps(hub_fields(t, r), ensure_ascii=False) + "\n")
        y = (src / f"kobest_{t}.yaml").read_text(encoding="utf-8")
        assert "dataset_path: skt/kobest_v1" in y and "validation_split: validation\n" in y
        y = y.replace(f"task: kobest_{t}", f"task: local_kobest_{t}")
        y = y.replace(
            "dataset_path: skt/kobest_v1",
            "dataset_path: json\ndataset_kwargs:\n  data_files:\n"
            f"    train: {folder / f'{t}.train.jsonl'}\n    test: {folder / f'{t}.test.jsonl'}",
        )
        y = y.replace(f"dataset_name: {t}\n", "").replace("validation_split: validation\n", "")
        (folder / f"local_kobest_{t}.yaml").write_text(y, encoding="utf-8")


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tmp = tmp_path_factory.mktemp("kobest")
    merged = tmp / "merged"
    node("cli/lab.ts", "export", "--model", "stories260K", "--format", "merged", "--out", str(merged))
    tasks_dir = tmp / "tasks"
    tasks_dir.mkdir()
    harness_tasks(tasks_dir)
    from lm_eval.tasks import TaskManager

    res = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={merged},dtype=float32",
        tasks=[f"local_kobest_{t}" for t in TASKS],
        num_fewshot=SHOTS,
        fewshot_random_seed=SEED,
        limit=LIMIT,
        log_samples=True,
        device="cpu",
        batch_size=1,
        task_manager=TaskManager(include_path=str(tasks_dir)),
    )
    harness = {
        t: [
            [float(r[0]) for r in s["filtered_resps"]]
            for s in sorted(res["samples"][f"local_kobest_{t}"], key=lambda s: s["doc_id"])
        ]
        for t in TASKS
    }
    out = node(
        "cli/lab.ts", "eval", "--model", "stories260K", "--backend", "wasm", "--json",
        "--tasks", ",".join(f"kobest_{t}" for t in TASKS),
        "--shots", str(SHOTS), "--limit", str(LIMIT), "--seed", str(SEED),
    )
    lab = {t: [it["loglik"] for it in json.loads(out)["results"][f"kobest_{t}"]["items"]] for t in TASKS}
    return harness, lab


@pytest.mark.parametrize("task", TASKS)
def test_kshot_logliks_equal_the_harness(both, task):
    harness, lab = both
    assert len(harness[task]) == LIMIT and len(lab[task]) == LIMIT
    worst = 0.0
    for i, (h, a) in enumerate(zip(harness[task], lab[task])):
        assert len(h) == len(a), f"{task} item {i}: {len(h)} choices in the harness, {len(a)} in the lab"
        for x, y in zip(h, a):
            worst = max(worst, abs(x - y) / max(abs(x), 1e-12))
    assert worst <= REL_TOL, f"{task}: worst relative difference {worst:.3g}"
