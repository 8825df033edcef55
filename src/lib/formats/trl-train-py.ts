/**
 * The TRL bundle's train.py (trl-bundle.ts), as a string so the browser and Node (tsx) can both write it.
 * Python source: no backticks or dollar-brace sequences inside.
 */
export const TRAIN_PY = String.raw`#!/usr/bin/env python3
"""Continue a CLO Lab run with Hugging Face TRL + PEFT (written by 'npm run lab -- export --format trl').

    python train.py [--max-steps N] [--cpu] [--output-dir DIR]              # CPU or one GPU
    torchrun --nproc_per_node N train.py [...]                              # N processes (data parallel)
    accelerate launch --config_file accelerate_config.yaml train.py [...]   # the same through accelerate

Settings, data and the starting adapter come from this folder (trl_config.json, data/train.jsonl,
adapter/). data/train.jsonl holds the lab's own token ids for every sequence, in the order the lab's
sampler visits the rows (one line per row and step), so step 1 sees the lab's step-1 batch.
When the bundle was exported from a checkpoint of a lab run at step k, state/ holds that run's AdamW
moments and step: training continues at step k+1 with the lab's learning-rate schedule and data
position, up to the run's planned last step (--max-steps counts total steps, as the lab's --steps).
With N processes each global batch (the lab's batch) is split into N equal parts, and the loss is the
one of the whole batch: the process count does not change the losses or the updates.
Prints one JSON line per logged step with the lab's metric names; saves in --output-dir a PEFT adapter
that 'npm run lab -- ... --adapter DIR' loads back, and the optimizer state and step (optimizer.safetensors,
lab_state.json) that 'npm run lab -- train --resume DIR' continues from.
"""
import argparse
import json
import math
import os
import re
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--max-steps", type=int, default=None, help="optimizer steps (default: the lab run's)")
    p.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is present")
    p.add_argument("--output-dir", default=str(HERE / "out"), help="where the adapter and state are saved (default: ./out)")
    p.add_argument("--resume", default=None, metavar="DIR", help="continue from a folder this script wrote (adapter, optimizer.safetensors, lab_state.json)")
    return p.parse_args()


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def mulberry32(seed):
    # the lab's PRNG (src/lib/model/sample.ts), in 32-bit unsigned arithmetic
    a = seed & 0xFFFFFFFF

    def imul(x, y):
        return (x * y) & 0xFFFFFFFF

    def rnd():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = imul(a ^ (a >> 15), a | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return rnd


def epoch_order(n, seed, epoch):
    # the lab's EpochSampler (src/lib/train/sampler.ts): a seeded permutation of the rows per epoch
    p = list(range(n))
    rnd = mulberry32((seed * 1000003 + epoch * 7919) % 2**32)
    for i in range(n - 1, 0, -1):
        j = int(rnd() * (i + 1))
        p[i], p[j] = p[j], p[i]
    return p


def lab_order(usable, lab, steps):
    """The rows the lab visits in steps 1..steps (micro-batches in order), as the lab's sampler draws them."""
    n, seed, bs, micro = len(usable), int(lab["seed"]), int(lab["batchSize"]), max(1, int(lab["gradAccum"]))
    perms, out = {}, []
    for pos in range(steps * micro * bs):
        e = pos // n
        if e not in perms:
            perms = {e: epoch_order(n, seed, e)}
        out.append(usable[perms[e][pos % n]])
    return out


def lab_lr_factor(step, total, warmup, min_ratio):
    """The lab's schedule (src/lib/train/schedule.ts) at 0-based step, as a multiple of the peak lr:
    linear warmup, then cosine decay reaching lr * min_ratio at the last step."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    span = max(1, total - warmup - 1)
    p = min(1.0, max(0.0, (step - warmup) / span))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p))


def peft_key(name):
    # a parameter name of the PEFT model -> its key in adapter_model.safetensors
    return re.sub(r"\.default(?=\.|$)", "", name)


def labels_for(ids, start):
    # response tokens are ids[start:]; the model predicts ids[t] from ids[:t]
    return [-100] * start + ids[start:]


def main():
    args = parse_args()
    import torch
    import torch.nn.functional as F
    from datasets import Dataset
    from peft import LoraConfig, set_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback, TrainingArguments
    from trl.trainer.base_trainer import _BaseTrainer
    from trl.trainer.utils import selective_log_softmax, use_adapter

    cfg = json.loads((HERE / "trl_config.json").read_text(encoding="utf-8"))
    lab = cfg["lab_config"]
    objective = cfg["objective"]
    base = cfg["base_model"]
    base = str(HERE / base) if (HERE / base).exists() else base
    torch.manual_seed(lab["seed"])

    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # padding is masked out everywhere
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    adapter_dir = HERE / cfg["adapter"] if cfg.get("adapter") else None
    if args.resume:
        adapter_dir = Path(args.resume).resolve()
    lora_kwargs = dict(cfg["peft_lora_config"])
    if adapter_dir is not None:
        ac = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
        # trainable_token_indices: embedding rows trained beside the LoRA pairs (an extended vocabulary)
        for k in ("r", "lora_alpha", "lora_dropout", "target_modules", "rank_pattern", "alpha_pattern", "fan_in_fan_out", "trainable_token_indices"):
            if ac.get(k) is not None:
                lora_kwargs[k] = ac[k]
    peft_config = LoraConfig(**lora_kwargs)

    use_cpu = args.cpu or not torch.cuda.is_available()
    common = dict(cfg["trainer_kwargs"])
    state_dir = Path(args.resume).resolve() if args.resume else HERE / "state"
    if args.resume and not (state_dir / "lab_state.json").exists():
        raise SystemExit(f"--resume: no lab_state.json in {state_dir}")
    start_state = json.loads((state_dir / "lab_state.json").read_text(encoding="utf-8")) if (state_dir / "lab_state.json").exists() else None
    start_step = int(start_state["step"]) if start_state else 0
    if start_state:
        common["max_steps"] = int(start_state["config"]["steps"])  # the run's planned last step
    if args.max_steps is not None:
        common["max_steps"] = args.max_steps
    total_steps = int(common["max_steps"])
    # data parallel: the lab's batch is the global batch, split evenly across the processes
    world = int(os.environ.get("WORLD_SIZE", "1"))
    global_batch = int(lab["batchSize"])
    if global_batch % world:
        raise SystemExit(f"the lab's batch ({global_batch} rows) does not split evenly across {world} processes")
    common["per_device_train_batch_size"] = global_batch // world
    if total_steps <= start_step:
        raise SystemExit(f"the run is at step {start_step}; --max-steps {total_steps} leaves nothing to do")
    common.update(
        output_dir=args.output_dir,
        use_cpu=use_cpu,
        bf16=False,  # the lab trains in float32; TRL's bf16 default stops on a CPU
        fp16=False,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    # the usable rows once (data/rows.jsonl) and the lab's sampler give the order for any number of steps;
    # data/train.jsonl is that order for the run's planned steps, written by the lab: check they agree
    rows = lab_order(read_jsonl(HERE / "data" / "rows.jsonl"), lab, total_steps)
    planned = [r["row"] for r in read_jsonl(HERE / "data" / "train.jsonl")]
    n = min(len(planned), len(rows))
    if [r["row"] for r in rows[:n]] != planned[:n]:
        raise SystemExit("data/rows.jsonl and the sampler do not give the order of data/train.jsonl")

    class LabMixin:
        """Lab data order (sequential over data/train.jsonl), the starting adapter, exact step losses."""

        def _get_train_sampler(self, *a, **k):
            # in order; with N processes accelerate gives process i the i-th part of each global batch
            return torch.utils.data.SequentialSampler(self.train_dataset)

        def create_scheduler(self, num_training_steps, optimizer=None):
            if self.lr_scheduler is None:
                opt = optimizer if optimizer is not None else self.optimizer
                w, r = int(lab["warmupSteps"]), float(lab["minLrRatio"])
                self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lab_lr_factor(s, total_steps, w, r))
                self._created_lr_scheduler = True
            return self.lr_scheduler

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            out = super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
            loss = out[0] if isinstance(out, tuple) else out
            self.lab_losses = getattr(self, "lab_losses", []) + [float(loss.detach())]
            return out

    def load_start_adapter(trainer):
        if adapter_dir is None:
            return
        state = load_file(str(adapter_dir / "adapter_model.safetensors"))
        res = set_peft_model_state_dict(trainer.model, state)
        missing = [k for k in getattr(res, "unexpected_keys", []) if "lora_" in k]
        if missing:
            raise SystemExit(f"adapter/: {len(missing)} tensors did not match the model, e.g. {missing[0]}")

    def write_start_checkpoint(trainer):
        """state/ (the lab run's AdamW moments and step) as a Trainer checkpoint folder that train() resumes
        from: adapter, optimizer.pt, scheduler.pt (the lab's schedule at step k), trainer_state.json."""
        from transformers import TrainerState

        ck = Path(args.output_dir) / f"checkpoint-{start_step}"
        if trainer.accelerator.is_local_main_process:
            ck.mkdir(parents=True, exist_ok=True)
            moments = load_file(str(state_dir / "optimizer.safetensors"))
            opt = trainer.create_optimizer()
            names = {p: n for n, p in trainer.model.named_parameters()}
            for group in opt.param_groups:
                for p in group["params"]:
                    k = peft_key(names[p])
                    if "exp_avg/" + k not in moments:
                        raise SystemExit(f"state/optimizer.safetensors has no moments for {k}")
                    opt.state[p] = {
                        "step": torch.tensor(float(start_state["adam_t"])),
                        "exp_avg": moments["exp_avg/" + k].to(p.dtype).reshape(p.shape).clone(),
                        "exp_avg_sq": moments["exp_avg_sq/" + k].to(p.dtype).reshape(p.shape).clone(),
                    }
            sched = trainer.create_scheduler(total_steps, opt)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # stepping the schedule without optimizer steps
                for _ in range(start_step):
                    sched.step()
            torch.save(opt.state_dict(), ck / "optimizer.pt")
            torch.save(sched.state_dict(), ck / "scheduler.pt")
            trainer.model.save_pretrained(str(ck))
            TrainerState(global_step=start_step, max_steps=total_steps, logging_steps=1, train_batch_size=trainer._train_batch_size).save_to_json(str(ck / "trainer_state.json"))
            trainer.optimizer, trainer.lr_scheduler, trainer._created_lr_scheduler = None, None, False
        trainer.accelerator.wait_for_everyone()
        return str(ck)

    def save_run_state(trainer):
        """The optimizer state and step next to the adapter, in the names of adapter_model.safetensors."""
        from safetensors.torch import save_file

        out = Path(args.output_dir)
        opt = getattr(trainer.optimizer, "optimizer", trainer.optimizer)
        tensors, adam_t = {}, 0
        for n, p in trainer.model.named_parameters():
            st = opt.state.get(p) if p.requires_grad else None
            if not st:
                continue
            tensors["exp_avg/" + peft_key(n)] = st["exp_avg"].detach().float().cpu().contiguous()
            tensors["exp_avg_sq/" + peft_key(n)] = st["exp_avg_sq"].detach().float().cpu().contiguous()
            adam_t = int(float(st["step"]))
        step = trainer.state.global_step
        save_file(tensors, str(out / "optimizer.safetensors"), metadata={"step": str(step)})
        trainer.save_state()  # trainer_state.json (Hugging Face's)
        cols = ("step", "loss", "loss/nll", "loss/pref", "rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "lr", "grad_norm")
        metrics = list(start_state["metrics"][:start_step]) if start_state else []
        metrics += [{k: r[k] for k in cols if k in r} for r in getattr(trainer, "lab_log", [])]
        state = {
            "format": "clo-lab-trl-state/1",
            "step": step,
            "adam_t": adam_t,
            "config": {**lab, "steps": total_steps},
            "run": start_state.get("run") if start_state else None,
            "metrics": metrics,
        }
        (out / "lab_state.json").write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")

    NAMES = {"learning_rate": "lr", "nll_loss": "loss/nll"}

    class JsonLines(TrainerCallback):
        def __init__(self):
            self.trainer = None

        def on_log(self, a, state, control, logs=None, **kw):
            if not logs or "loss" not in logs:
                return
            tr = self.trainer
            losses = getattr(tr, "lab_losses", [])
            extra = getattr(tr, "lab_metrics", None) or {}
            tr.lab_losses, tr.lab_metrics = [], {}
            # every process logs: the values of the whole global batch are the means over the processes
            names = sorted(extra)
            vals = [sum(losses) / len(losses) if losses else float("nan")] + [sum(extra[k]) / len(extra[k]) for k in names]
            if world > 1:
                t = torch.tensor(vals, dtype=torch.float64, device=tr.accelerator.device)
                vals = tr.accelerator.reduce(t, reduction="mean").tolist()
            if not state.is_world_process_zero:
                return
            rec = {"step": state.global_step}
            if losses:
                rec["loss"] = vals[0]
            for k, v in logs.items():
                k = NAMES.get(k, k)
                if k in ("loss", "epoch") or not isinstance(v, (int, float)):
                    continue
                if k in ("lr", "grad_norm") or k.startswith("rewards/") or k.startswith("loss/"):
                    rec[k] = v
            rec.setdefault("loss", logs["loss"])
            # the lab's names for the loss terms
            if objective in ("sft", "pt"):
                rec["loss/nll"] = rec["loss"]
            elif objective == "dpo":
                rec["loss/pref"] = rec["loss"]
            elif objective == "orpo" and "log_odds_ratio" in logs:
                rec["loss/pref"] = -float(logs["log_odds_ratio"])
            rec.update(dict(zip(names, vals[1:])))
            tr.lab_log = getattr(tr, "lab_log", []) + [rec]
            print(json.dumps(rec), flush=True)

    cb = JsonLines()

    if objective in ("sft", "pt"):
        # pt (continued pretraining): each text window is a sequence whose tokens after BOS are all targets
        from trl import SFTConfig, SFTTrainer

        class LabSFTTrainer(LabMixin, SFTTrainer):
            pass

        data = [{"input_ids": s["ids"], "labels": labels_for(s["ids"], s["start"])} for r in rows for s in r["seqs"]]
        # trained token rows: the plain loss runs lm_head itself (PEFT's wrapper, which swaps the trained rows in)
        loss_type = {"loss_type": "nll"} if getattr(peft_config, "trainable_token_indices", None) else {}
        targs = SFTConfig(**common, max_length=None, packing=False, dataset_kwargs={"skip_prepare_dataset": True}, **loss_type)
        trainer = LabSFTTrainer(model=model, args=targs, train_dataset=Dataset.from_list(data), processing_class=tokenizer, peft_config=peft_config, callbacks=[cb])

    elif objective == "dpo":
        from trl import DPOConfig, DPOTrainer

        class LabDPOTrainer(LabMixin, DPOTrainer):
            def _prepare_dataset(self, dataset, *a, **k):
                return dataset  # already tokenized by the lab

        def collate_pairs(examples):
            # DPOTrainer's batch layout: all chosen sequences, then all rejected ones; completion_mask marks
            # the response tokens. Each sequence keeps its own lab tokenization (the prompt's last token can
            # merge differently with the chosen and the rejected text).
            seqs = [ex["seqs"][0] for ex in examples] + [ex["seqs"][1] for ex in examples]
            T = max(len(s["ids"]) for s in seqs)
            ids = torch.full((len(seqs), T), tokenizer.pad_token_id, dtype=torch.long)
            att = torch.zeros(len(seqs), T, dtype=torch.long)
            comp = torch.zeros(len(seqs), T, dtype=torch.long)
            for i, s in enumerate(seqs):
                n = len(s["ids"])
                ids[i, :n] = torch.tensor(s["ids"])
                att[i, :n] = 1
                comp[i, s["start"]:n] = 1
            return {"input_ids": ids, "attention_mask": att, "completion_mask": comp}

        targs = DPOConfig(**common, max_length=None, precompute_ref_log_probs=False)
        trainer = LabDPOTrainer(model=model, args=targs, train_dataset=Dataset.from_list([{"seqs": r["seqs"]} for r in rows]), data_collator=collate_pairs, processing_class=tokenizer, peft_config=peft_config, callbacks=[cb])

    elif objective == "orpo":
        try:
            from trl.experimental.orpo import ORPOConfig, ORPOTrainer
        except ImportError:
            from trl import ORPOConfig, ORPOTrainer

        class LabORPOTrainer(LabMixin, ORPOTrainer):
            def tokenize_row(self, feature, model=None):
                out = {}
                c, r_ = feature["seqs"]
                out["prompt_input_ids"] = c["ids"][: c["start"]]
                out["prompt_attention_mask"] = [1] * c["start"]
                for name, s in (("chosen", c), ("rejected", r_)):
                    out[f"{name}_input_ids"] = s["ids"]
                    out[f"{name}_attention_mask"] = [1] * len(s["ids"])
                    out[f"{name}_labels"] = labels_for(s["ids"], s["start"])
                return out

            def concatenated_forward(self, model, batch):
                # docs/methods.md: ORPO's NLL is over the chosen RESPONSE tokens (TRL's counts the prompt too)
                out = list(super().concatenated_forward(model, batch))
                logits = out[2]  # chosen logits without the last position: [B, T-1, V]
                labels = batch["chosen_labels"][:, 1:]
                T = logits.shape[1]
                if labels.shape[1] < T:
                    labels = F.pad(labels, (0, T - labels.shape[1]), value=-100)
                out[4] = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, :T].reshape(-1).to(logits.device), ignore_index=-100)
                return tuple(out)

        data = [{"prompt": r["text"]["prompt"], "chosen": r["text"]["chosen"], "rejected": r["text"]["rejected"], "seqs": r["seqs"]} for r in rows]
        targs = ORPOConfig(**common, max_length=10**6)
        trainer = LabORPOTrainer(model=model, args=targs, train_dataset=Dataset.from_list(data), processing_class=tokenizer, peft_config=peft_config, callbacks=[cb])

    elif objective == "clo":
        from peft import get_peft_model

        beta, lam = float(lab["beta"]), float(lab["lambda"])

        def collate(examples):
            # per quadruple, in this order: (x_en,y_en) (x_en,y_tgt) (x_tgt,y_tgt) (x_tgt,y_en)
            seqs = [s for ex in examples for s in ex["seqs"]]
            T = max(len(s["ids"]) for s in seqs)
            ids = torch.zeros(len(seqs), T, dtype=torch.long)
            att = torch.zeros(len(seqs), T, dtype=torch.long)
            lab_ = torch.full((len(seqs), T), -100, dtype=torch.long)
            for i, s in enumerate(seqs):
                n = len(s["ids"])
                ids[i, :n] = torch.tensor(s["ids"])
                att[i, :n] = 1
                lab_[i, :n] = torch.tensor(labels_for(s["ids"], s["start"]))
            return {"input_ids": ids, "attention_mask": att, "labels": lab_}

        def seq_logps(m, batch):
            logits = m(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits[:, :-1, :]
            labels = batch["labels"][:, 1:]
            mask = labels != -100
            lp = selective_log_softmax(logits, labels.clamp(min=0))
            return (lp * mask).sum(-1), mask.sum(-1)

        class CLOTrainer(LabMixin, _BaseTrainer):
            """CLO (docs/methods.md §2): λ·NLL_target + (1 − λ)·L_CL, reference = the base with the adapter off."""

            def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
                policy, counts = seq_logps(model, inputs)
                with torch.no_grad(), use_adapter(self.accelerator.unwrap_model(model), None):
                    ref, _ = seq_logps(model, inputs)
                p, r, n = policy.view(-1, 4), ref.view(-1, 4), counts.view(-1, 4)
                pc, pr = torch.cat([p[:, 0], p[:, 2]]), torch.cat([p[:, 1], p[:, 3]])
                rc, rr = torch.cat([r[:, 0], r[:, 2]]), torch.cat([r[:, 1], r[:, 3]])
                chosen, rejected = beta * (pc - rc), beta * (pr - rr)
                margin = chosen - rejected
                l_cl = -F.logsigmoid(margin).mean()
                # token mean over the whole global batch: each process divides by the global count
                # (times the process count, since data parallel averages the gradients)
                n_tgt = n[:, 2].sum()
                if world > 1:
                    n_tgt = self.accelerator.reduce(n_tgt.detach().clone(), reduction="sum") / world
                nll = -p[:, 2].sum() / n_tgt
                loss = lam * nll + (1 - lam) * l_cl
                m = getattr(self, "lab_metrics", None) or {}
                for k, v in (("loss/nll", nll), ("loss/pref", l_cl), ("rewards/chosen", chosen.mean()), ("rewards/rejected", rejected.mean()),
                             ("rewards/margins", margin.mean()), ("rewards/accuracies", (margin > 0).float().mean())):
                    m.setdefault(k, []).append(float(v.detach()))
                self.lab_metrics = m
                self.lab_losses = getattr(self, "lab_losses", []) + [float(loss.detach())]
                return (loss, {}) if return_outputs else loss

        model = get_peft_model(model, peft_config)
        targs = TrainingArguments(**common)
        trainer = CLOTrainer(model=model, args=targs, train_dataset=Dataset.from_list([{"seqs": r["seqs"]} for r in rows]), data_collator=collate, processing_class=tokenizer, callbacks=[cb])
    else:
        raise SystemExit(f"unknown objective {objective!r}")

    cb.trainer = trainer
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)  # its dict lines would mix with the JSON lines
    trainer.remove_callback(ProgressCallback)
    load_start_adapter(trainer)
    resume_dir = write_start_checkpoint(trainer) if start_state else None
    trainer.train(resume_from_checkpoint=resume_dir)
    if trainer.is_world_process_zero():
        trainer.model.save_pretrained(args.output_dir)
        save_run_state(trainer)
        print(json.dumps({"saved": args.output_dir, "global_step": trainer.state.global_step}), flush=True)


if __name__ == "__main__":
    main()
`;
