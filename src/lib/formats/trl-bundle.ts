/**
 * TRL bundle (`export --format trl`): a folder that continues a lab run with Hugging Face TRL + PEFT.
 *
 *   train.py           SFT → TRL SFTTrainer, DPO → DPOTrainer, ORPO → TRL's ORPOTrainer, CLO → a CLO
 *                      trainer of ours on TRL's base trainer (docs/methods.md §2, reference = adapter off)
 *   trl_config.json    the lab config, the TRL/transformers arguments that match it, the PEFT LoRA config
 *   data/train.jsonl   one line per row per step, in the order the lab's sampler visits them
 *                      (EpochSampler with the run's seed), with the lab's own token ids and response
 *                      start for every sequence (docs/methods.md §1: prompt+response tokenized together,
 *                      EOS appended, prompt left-truncated), so step 1 is the lab's step-1 batch
 *   data/rows.jsonl    the usable rows once each, in file order: with the lab's sampler (ported in train.py)
 *                      they give the order for any number of steps (a run continued past its planned end)
 *   data/*.jsonl       the rows as text in TRL's dataset formats (for other uses; train.py does not read them)
 *   accelerate_config.yaml, accelerate_config_cpu.yaml   data parallel on one machine's GPUs / CPU processes
 *   requirements.txt, README.md; base/ (merged HF export of the base), adapter/ (PEFT) and, for a bundle
 *   exported from a run's checkpoint, state/ (trl-state.ts) are added by the caller.
 */
import type { TrainRow } from '../data/rows';
import type { TrainConfig } from '../train/types';
import type { Tokenizer } from '../tokenizer/types';
import { getObjective } from '../objectives';
import { tokenizePair, type TokenizedSeq } from '../model/batch';
import { EpochSampler } from '../train/sampler';
import { TRAIN_PY } from './trl-train-py';

export interface TrlBundleInput {
  rows: TrainRow[];
  config: TrainConfig;
  /** a folder inside the bundle (e.g. "base") or a Hugging Face id */
  baseModel: string;
  /** folder of the PEFT adapter to start from, inside the bundle */
  adapterDir?: string | null;
  /** the lab tokenizer and the model's context length: data/train.jsonl holds the lab's token ids */
  tokenizer: Tokenizer;
  modelMaxSeqLen: number;
  /** the step of the checkpoint the bundle continues (its state/ folder); 0 or absent = from the start */
  startStep?: number;
}

/** Processes per machine in accelerate_config.yaml: the most GPUs (up to 8) that split the lab's batch evenly. */
export function dataParallelProcesses(batchSize: number): number {
  for (const n of [8, 4, 2]) if (batchSize % n === 0) return n;
  return 1;
}

/** accelerate's config for data parallel on one machine: `gpu` (N GPUs) or CPU processes (gloo, for checks). */
export function accelerateConfig(processes: number, cpu: boolean): string {
  return [
    cpu
      ? '# Data parallel across CPU processes (gloo), to check on a laptop that the process count leaves the\n# losses unchanged: accelerate launch --config_file accelerate_config_cpu.yaml train.py --cpu'
      : '# Data parallel on one machine: accelerate launch --config_file accelerate_config.yaml train.py\n# num_processes = GPUs to use; it must divide the lab batch (trl_config.json lab_config.batchSize).\n# Several machines: num_machines, machine_rank, main_process_ip and main_process_port on each.',
    'compute_environment: LOCAL_MACHINE',
    // MULTI_GPU makes accelerate start one process per slot through torch.distributed.run; with train.py
    // --cpu the processes stay on the CPU and talk over gloo
    'distributed_type: MULTI_GPU',
    'num_machines: 1',
    'machine_rank: 0',
    `num_processes: ${processes}`,
    'gpu_ids: all',
    "mixed_precision: 'no'",
    'use_cpu: false',
    'rdzv_backend: static',
    'same_network: true',
    'main_training_function: main',
    '',
  ].join('\n');
}

/** Versions the interop tests ran with (tests/python). */
export const REQUIREMENTS = [
  'torch==2.13.0',
  'transformers==5.18.0',
  'peft==0.21.0',
  'trl==1.13.0',
  'datasets==5.0.1',
  'accelerate==1.15.0',
  'safetensors==0.8.0',
];

const jsonl = (objs: object[]) => objs.map((o) => JSON.stringify(o)).join('\n') + (objs.length ? '\n' : '');

export function cloDirections(
  rows: TrainRow[],
): { prompt: string; chosen: string; rejected: string; direction: 'en' | 'tgt'; lang: string }[] {
  const out: { prompt: string; chosen: string; rejected: string; direction: 'en' | 'tgt'; lang: string }[] = [];
  for (const r of rows) {
    if (r.kind !== 'clo') continue;
    out.push({ prompt: r.xEn, chosen: r.yEn, rejected: r.yTgt, direction: 'en', lang: r.lang });
    out.push({ prompt: r.xTgt, chosen: r.yTgt, rejected: r.yEn, direction: 'tgt', lang: r.lang });
  }
  return out;
}

/** PEFT LoraConfig kwargs matching the lab's adapter. */
export function peftLoraKwargs(cfg: TrainConfig): Record<string, unknown> {
  return {
    r: cfg.lora.r,
    lora_alpha: cfg.lora.alpha,
    lora_dropout: cfg.lora.dropout,
    target_modules: cfg.lora.targets,
    bias: 'none',
    task_type: 'CAUSAL_LM',
  };
}

/** TRL/transformers trainer arguments matching the lab's run (train.py adds output, device and precision). */
export function trlTrainerKwargs(cfg: TrainConfig): { trainer: string; kwargs: Record<string, unknown> } {
  const common: Record<string, unknown> = {
    max_steps: cfg.steps,
    per_device_train_batch_size: cfg.batchSize,
    gradient_accumulation_steps: cfg.gradAccum,
    learning_rate: cfg.lr,
    warmup_steps: cfg.warmupSteps,
    lr_scheduler_type: cfg.minLrRatio > 0 ? 'cosine_with_min_lr' : 'cosine',
    ...(cfg.minLrRatio > 0 ? { lr_scheduler_kwargs: { min_lr_rate: cfg.minLrRatio } } : {}),
    weight_decay: cfg.weightDecay,
    max_grad_norm: cfg.clipNorm,
    adam_beta1: 0.9,
    adam_beta2: 0.999,
    adam_epsilon: 1e-8,
    seed: cfg.seed,
  };
  switch (cfg.objective) {
    case 'sft':
      return { trainer: 'SFTTrainer', kwargs: common };
    case 'dpo':
      return { trainer: 'DPOTrainer', kwargs: { ...common, beta: cfg.beta, loss_type: 'sigmoid' } };
    case 'orpo':
      // TRL's ORPO calls the weight of the odds-ratio term beta
      return { trainer: 'ORPOTrainer', kwargs: { ...common, beta: cfg.lambda } };
    case 'clo':
      return { trainer: 'CLOTrainer', kwargs: common };
    case 'pt':
      // continued pretraining: causal LM loss on every token of the text windows
      return { trainer: 'SFTTrainer', kwargs: common };
  }
}

function rowText(r: TrainRow): Record<string, string> {
  switch (r.kind) {
    case 'sft':
      return { prompt: r.prompt, completion: r.response };
    case 'preference':
      return { prompt: r.prompt, chosen: r.chosen, rejected: r.rejected };
    case 'clo':
      return { x_en: r.xEn, y_en: r.yEn, x_tgt: r.xTgt, y_tgt: r.yTgt, lang: r.lang };
    default:
      return {};
  }
}

export interface OrderedRow {
  /** 1-based row number in the data file's usable rows as parsed */
  row: number;
  /** 1-based optimizer step */
  step: number;
  text: Record<string, string>;
  seqs: TokenizedSeq[];
}

/**
 * The rows the lab's Trainer visits, step by step (micro-batches of a step in order), with the same
 * skipping of rows the objective cannot use or that do not fit (trainer.ts) and the same sampler.
 */
export function labStepOrder(rows: TrainRow[], cfg: TrainConfig, tok: Tokenizer, modelMaxSeqLen: number): OrderedRow[] {
  const usable = usableRows(rows, cfg, tok, modelMaxSeqLen);
  const sampler = new EpochSampler(usable.length, cfg.seed);
  const micro = Math.max(1, cfg.gradAccum);
  const out: OrderedRow[] = [];
  for (let s = 0; s < cfg.steps; s++)
    for (let m = 0; m < micro; m++)
      for (const k of sampler.batch(s * micro + m, cfg.batchSize))
        out.push({ row: usable[k].row, step: s + 1, text: usable[k].text, seqs: usable[k].seqs });
  return out;
}

/**
 * The rows the trainer can use, once each in file order (the sampler's indices refer to this list), with the
 * same skipping of rows the objective cannot use or that do not fit as the trainer's (trainer.ts).
 */
export function usableRows(
  rows: TrainRow[],
  cfg: TrainConfig,
  tok: Tokenizer,
  modelMaxSeqLen: number,
): Omit<OrderedRow, 'step'>[] {
  const objective = getObjective(cfg.objective);
  const maxLen = Math.min(cfg.maxSeqLen, modelMaxSeqLen);
  const usable: { row: number; seqs: TokenizedSeq[]; text: Record<string, string> }[] = [];
  rows.forEach((row, i) => {
    if (!objective.accepts.includes(row.kind)) return;
    try {
      // an item per window for continued pretraining (objectives/pt.ts), else one per row (train-items.ts)
      const items = objective.tokenize
        ? objective.tokenize(tok, row, maxLen)
        : [objective.sequences(row).map((p) => tokenizePair(tok, p.prompt, p.response, maxLen, true))];
      for (const seqs of items) usable.push({ row: i + 1, seqs, text: rowText(row) });
    } catch {
      /* skipped by the trainer too */
    }
  });
  if (usable.length === 0) throw new Error(`no usable rows for ${cfg.objective}`);
  return usable;
}

function readme(input: TrlBundleInput, files: string[]): string {
  const c = input.config;
  const t = trlTrainerKwargs(c);
  const lines = [
    `# TRL bundle: ${c.objective.toUpperCase()} on ${input.baseModel}`,
    '',
    'Written by CLO Lab (`npm run lab -- export --format trl`, or "TRL bundle" in the Train view\'s run list: the',
    'same files). It continues the lab run with Hugging Face',
    `TRL + PEFT (${t.trainer}), starting from the adapter in \`${input.adapterDir ?? 'adapter'}/\`.`,
    ...(input.startStep
      ? [
          '',
          `The run was exported from its checkpoint at step ${input.startStep} of ${c.steps}: \`state/\` holds its AdamW`,
          'moments and step, so `python train.py` continues at step ' +
            `${input.startStep + 1} exactly as the lab's \`train --resume\` would (same batches, learning rates and updates).`,
          "A bundle from the page's run list is made from the run's last checkpoint (saved when it pauses, stops or",
          'ends), so it continues from the step the run was paused or finished at.',
        ]
      : []),
    '',
    '## Run',
    '',
    '```sh',
    'pip install -r requirements.txt',
    'python train.py                      # CPU, or one GPU when present',
    'python train.py --max-steps 2 --cpu  # a quick check on the CPU',
    '# data parallel on one machine (N GPUs; N must divide the lab batch)',
    'torchrun --nproc_per_node N train.py',
    'accelerate launch --config_file accelerate_config.yaml train.py',
    '# the same check on a laptop: 2 CPU processes give the losses of one',
    'accelerate launch --config_file accelerate_config_cpu.yaml train.py --cpu',
    '```',
    '',
    `Flags: \`--max-steps N\` (total steps, default ${c.steps}, the lab run's planned last step; a larger N stretches the`,
    "cosine as the lab's `--steps` on resume does), `--cpu`, `--output-dir DIR` (default `out`), `--resume DIR`",
    '(continue from a folder train.py wrote).',
    "Each logged step prints one JSON line with the lab's metric names (`step`, `loss`, `loss/nll`, `loss/pref`,",
    '`rewards/*`, `lr`, `grad_norm`). The output folder holds the adapter (PEFT layout; the lab loads it with',
    '`--adapter DIR`, reordering the q/k rows of llama2.c models back to its RoPE layout), `optimizer.safetensors`',
    "(the AdamW moments, in the adapter's tensor names), `lab_state.json` (step, settings, metrics) and",
    "Hugging Face's `trainer_state.json`. For a bundle exported from a lab checkpoint,",
    '`npm run lab -- train --resume DIR [--steps N]` continues that folder on the laptop.',
    '',
    '## Data parallel',
    '',
    "The lab's batch is the global batch: with N processes each takes an equal part of every batch (in the",
    'same order), the SFT and CLO token means divide by the token count of the whole batch, and the logged',
    'values are those of the whole batch, so the losses and updates do not depend on N (the lab checks 2 CPU',
    'processes against one to 1e-4). Several machines: `torchrun --nnodes M --node_rank i --master_addr HOST',
    '--nproc_per_node N train.py`, or the accelerate config with `num_machines`, `machine_rank`,',
    '`main_process_ip` on each machine. DeepSpeed ZeRO (stages 1-2 shard the optimizer state and gradients) and',
    'FSDP go in the accelerate config (`distributed_type: DEEPSPEED` / `FSDP`, see `accelerate config`); they',
    'change memory, not the loss. The LoRA adapter is small: plain data parallel is usually enough, and',
    '`optimizer.safetensors` (read back by the lab) is written from the full optimizer state of DDP runs.',
    '',
    '## Files',
    '',
    ...files.map((f) => `- \`${f}\``),
    '',
    '## What matches the lab',
    '',
    "- Data: `data/train.jsonl` holds the lab's token ids for every sequence (prompt and response tokenized",
    "  together, EOS appended, prompts left-truncated to max_seq_len) in the order the lab's sampler visits",
    "  the rows; train.py reads it in order on one device, so step 1 sees the lab's step-1 batch and its",
    "  logged loss equals the lab's (checked by the lab's interop tests to 1e-3). With several processes each",
    '  takes its part of every batch.',
    `- Batch: ${c.batchSize} rows per device and micro-batch, ${c.gradAccum} micro-batch(es) per step; float32.`,
    `- LoRA r=${c.lora.r}, alpha=${c.lora.alpha}, dropout=${c.lora.dropout} on ${c.lora.targets.join(', ')}.`,
    "- AdamW (β1 0.9, β2 0.999, ε 1e-8), global-norm clipping, and the lab's schedule (linear warmup, then",
    "  cosine decay reaching lr × minLrRatio at the last step) as a LambdaLR, so every step has the lab's lr.",
  ];
  if (c.objective === 'sft')
    lines.push('- SFT: token-mean cross-entropy over the response tokens of the batch (labels −100 elsewhere).');
  if (c.objective === 'dpo')
    lines.push(
      `- DPO: TRL's sigmoid loss with β = ${c.beta}; the reference is the base with the adapter switched off, as in the lab.`,
    );
  if (c.objective === 'orpo')
    lines.push(
      `- ORPO: NLL(chosen) + λ·(−log σ(log-odds(c) − log-odds(r))) with λ = ${c.lambda} (TRL's \`beta\`). The lab's NLL covers the chosen response tokens only; TRL's ORPOTrainer also counts the prompt, so train.py replaces that term.`,
    );
  if (c.objective === 'clo')
    lines.push(
      `- CLO: λ·NLL_target + (1 − λ)·L_CL with λ = ${c.lambda}, β = ${c.beta}. L_CL is the DPO loss averaged over both directions of`,
      '  every quadruple (x_en: y_en ≻ y_tgt, and x_tgt: y_tgt ≻ y_en), reference = adapter off; NLL_target is the',
      '  token-mean cross-entropy of y_tgt given x_tgt only. TRL has no CLO trainer: `CLOTrainer` in train.py',
      "  computes it on TRL's base trainer.",
    );
  lines.push('');
  return lines.join('\n');
}

/** Builds the bundle's text files (train.py, config, data, README); returns file name → text. */
export function buildTrlBundle(input: TrlBundleInput): Map<string, string> {
  const files = new Map<string, string>();
  const sft = input.rows.filter((r) => r.kind === 'sft');
  const pref = input.rows.filter((r) => r.kind === 'preference');
  const clo = input.rows.filter((r) => r.kind === 'clo');
  files.set('train.py', TRAIN_PY);
  files.set('requirements.txt', REQUIREMENTS.join('\n') + '\n');
  files.set('accelerate_config.yaml', accelerateConfig(dataParallelProcesses(input.config.batchSize), false));
  files.set('accelerate_config_cpu.yaml', accelerateConfig(2, true));
  files.set('data/train.jsonl', jsonl(labStepOrder(input.rows, input.config, input.tokenizer, input.modelMaxSeqLen)));
  files.set('data/rows.jsonl', jsonl(usableRows(input.rows, input.config, input.tokenizer, input.modelMaxSeqLen)));
  if (sft.length) files.set('data/sft.jsonl', jsonl(sft.map((r) => ({ prompt: r.prompt, completion: r.response }))));
  if (pref.length)
    files.set(
      'data/preference.jsonl',
      jsonl(pref.map((r) => ({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected }))),
    );
  if (clo.length) {
    files.set('data/clo_preference.jsonl', jsonl(cloDirections(clo)));
    files.set(
      'data/clo_target_sft.jsonl',
      jsonl(clo.map((r) => ({ prompt: r.xTgt, completion: r.yTgt, lang: r.lang }))),
    );
  }
  const t = trlTrainerKwargs(input.config);
  files.set(
    'trl_config.json',
    JSON.stringify(
      {
        base_model: input.baseModel,
        objective: input.config.objective,
        trainer: t.trainer,
        trainer_kwargs: t.kwargs,
        peft_lora_config: peftLoraKwargs(input.config),
        lab_config: input.config,
        adapter: input.adapterDir ?? null,
      },
      null,
      2,
    ) + '\n',
  );
  const names = [
    ...files.keys(),
    'README.md',
    `${input.baseModel}/`,
    ...(input.adapterDir ? [`${input.adapterDir}/`] : []),
    ...(input.startStep ? ['state/'] : []),
  ];
  files.set('README.md', readme(input, names));
  return files;
}
