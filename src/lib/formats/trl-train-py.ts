/**
 * The TRL bundle's train.py (trl-bundle.ts), as a string so the browser and Node (tsx) can both write it.
 * Python source: no backticks or dollar-brace sequences inside.
 */
export const TRAIN_PY = String.raw`#!/usr/bin/env python3
"""Continue a CLO Lab run with Hugging Face TRL + PEFT (written by 'npm run lab -- export --format trl').

    python train.py [--max-steps N] [--cpu] [--output-dir DIR]      # CPU or one GPU
    accelerate launch train.py [...]                                # many GPUs (data parallel)

Settings, data and the starting adapter come from this folder (trl_config.json, data/train.jsonl,
adapter/). data/train.jsonl holds the lab's own token ids for every sequence, in the order the lab's
sampler visits the rows (one line per row and step), so step 1 sees the lab's step-1 batch.
Prints one JSON line per logged step with the lab's metric names; saves a PEFT adapter in
--output-dir that 'npm run lab -- ... --adapter DIR' loads back.
"""
import argparse
import json
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--max-steps", type=int, default=None, help="optimizer steps (default: the lab run's)")
    p.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is present")
    p.add_argument("--output-dir", default=str(HERE / "out"), help="where the adapter is saved (default: ./out)")
    return p.parse_args()


def lab_rows():
    with open(HERE / "data" / "train.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


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
    lora_kwargs = dict(cfg["peft_lora_config"])
    if adapter_dir is not None:
        ac = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
        for k in ("r", "lora_alpha", "lora_dropout", "target_modules", "rank_pattern", "alpha_pattern", "fan_in_fan_out"):
            if ac.get(k) is not None:
                lora_kwargs[k] = ac[k]
    peft_config = LoraConfig(**lora_kwargs)

    use_cpu = args.cpu or not torch.cuda.is_available()
    common = dict(cfg["trainer_kwargs"])
    if args.max_steps is not None:
        common["max_steps"] = args.max_steps
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
    rows = lab_rows()

    class LabMixin:
        """Lab data order (sequential over data/train.jsonl), the starting adapter, exact step losses."""

        def _get_train_sampler(self, *a, **k):
            if self.args.world_size > 1:
                return super()._get_train_sampler(*a, **k)
            return torch.utils.data.SequentialSampler(self.train_dataset)

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

    NAMES = {"learning_rate": "lr", "nll_loss": "loss/nll"}

    class JsonLines(TrainerCallback):
        def __init__(self):
            self.trainer = None

        def on_log(self, a, state, control, logs=None, **kw):
            if not state.is_world_process_zero or not logs or "loss" not in logs:
                return
            rec = {"step": state.global_step}
            tr = self.trainer
            losses = getattr(tr, "lab_losses", [])
            if losses:
                rec["loss"] = sum(losses) / len(losses)
                tr.lab_losses = []
            for k, v in logs.items():
                k = NAMES.get(k, k)
                if k in ("loss", "epoch") or not isinstance(v, (int, float)):
                    continue
                if k in ("lr", "grad_norm") or k.startswith("rewards/") or k.startswith("loss/"):
                    rec[k] = v
            rec.setdefault("loss", logs["loss"])
            # the lab's names for the loss terms
            if objective == "sft":
                rec["loss/nll"] = rec["loss"]
            elif objective == "dpo":
                rec["loss/pref"] = rec["loss"]
            elif objective == "orpo" and "log_odds_ratio" in logs:
                rec["loss/pref"] = -float(logs["log_odds_ratio"])
            extra = getattr(tr, "lab_metrics", None)
            if extra:
                rec.update({k: sum(v) / len(v) for k, v in extra.items()})
                tr.lab_metrics = {}
            print(json.dumps(rec), flush=True)

    cb = JsonLines()

    if objective == "sft":
        from trl import SFTConfig, SFTTrainer

        class LabSFTTrainer(LabMixin, SFTTrainer):
            pass

        data = [{"input_ids": s["ids"], "labels": labels_for(s["ids"], s["start"])} for r in rows for s in r["seqs"]]
        targs = SFTConfig(**common, max_length=None, packing=False, dataset_kwargs={"skip_prepare_dataset": True})
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
                nll = -p[:, 2].sum() / n[:, 2].sum()
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
    trainer.train()
    if trainer.is_world_process_zero():
        trainer.model.save_pretrained(args.output_dir)
        print(json.dumps({"saved": args.output_dir}), flush=True)


if __name__ == "__main__":
    main()
`;
