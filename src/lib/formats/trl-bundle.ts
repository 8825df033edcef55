/**
 * A TRL-ready bundle: the run's training data as JSONL in TRL's dataset formats, the matching
 * TRL/PEFT settings as JSON, and a README that says how TRL's built-in losses differ from the lab's.
 *
 * - SFT rows → sft.jsonl `{prompt, completion}` (TRL "prompt-completion" format).
 * - DPO/ORPO rows → preference.jsonl `{prompt, chosen, rejected}`.
 * - CLO quadruples → clo_preference.jsonl with BOTH directions per quadruple
 *   (x_en: y_en ≻ y_tgt, and x_tgt: y_tgt ≻ y_en) and clo_target_sft.jsonl `{prompt: x_tgt,
 *   completion: y_tgt}` (the target-only NLL term).
 */
import type { TrainRow } from '../data/rows';
import type { TrainConfig } from '../train/types';

export interface TrlBundleInput {
  rows: TrainRow[];
  config: TrainConfig;
  baseModel: string;
  /** file name of the PEFT adapter folder inside the bundle, when one is included */
  adapterDir?: string | null;
}

const jsonl = (objs: object[]) => objs.map((o) => JSON.stringify(o)).join('\n') + (objs.length ? '\n' : '');

export function cloDirections(rows: TrainRow[]): { prompt: string; chosen: string; rejected: string; direction: 'en' | 'tgt'; lang: string }[] {
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
  return { r: cfg.lora.r, lora_alpha: cfg.lora.alpha, lora_dropout: cfg.lora.dropout, target_modules: cfg.lora.targets, bias: 'none', task_type: 'CAUSAL_LM' };
}

/** TRL trainer config kwargs matching the lab's run (the closest TRL equivalent for each objective). */
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
    logging_steps: 1,
  };
  switch (cfg.objective) {
    case 'sft':
      return { trainer: 'SFTTrainer', kwargs: { ...common, max_length: cfg.maxSeqLen, completion_only_loss: true } };
    case 'dpo':
      return { trainer: 'DPOTrainer', kwargs: { ...common, beta: cfg.beta, loss_type: 'sigmoid', max_length: cfg.maxSeqLen, truncation_mode: 'keep_end' } };
    case 'orpo':
      return { trainer: 'ORPOTrainer', kwargs: { ...common, beta: cfg.lambda, max_length: cfg.maxSeqLen } };
    case 'clo':
      // one CLO quadruple = two preference pairs (both directions) in the same batch
      return { trainer: 'DPOTrainer', kwargs: { ...common, per_device_train_batch_size: 2 * cfg.batchSize, beta: cfg.beta, loss_type: 'sigmoid', rpo_alpha: cfg.lambda < 1 ? cfg.lambda / (1 - cfg.lambda) : null, max_length: cfg.maxSeqLen, truncation_mode: 'keep_end' } };
    case 'pt':
      // continued pretraining: plain language modelling on the "text" column
      return { trainer: 'SFTTrainer', kwargs: { ...common, max_length: cfg.maxSeqLen, dataset_text_field: 'text', completion_only_loss: false } };
  }
}

function readme(input: TrlBundleInput, files: string[]): string {
  const c = input.config;
  const t = trlTrainerKwargs(c);
  const py = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([k, v]) => `    ${k}=${typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? JSON.stringify(v) : v === null ? 'None' : typeof v === 'boolean' ? (v ? 'True' : 'False') : typeof v === 'object' ? JSON.stringify(v) : v},`)
      .join('\n');
  const dataFile = c.objective === 'sft' ? 'sft.jsonl' : c.objective === 'clo' ? 'clo_preference.jsonl' : 'preference.jsonl';
  const configClass = t.trainer.replace('Trainer', 'Config');
  const lines = [
    `# TRL bundle: ${c.objective.toUpperCase()} run on ${input.baseModel}`,
    '',
    'Exported by CLO Lab. Files:',
    ...files.map((f) => `- \`${f}\``),
    '',
    'Every text is used verbatim: prompts already carry their template. The lab appends the',
    "tokenizer's EOS token after each response in training; TRL does the same for completions.",
    '',
    '## Matching settings',
    '',
    '```python',
    'from datasets import load_dataset',
    'from peft import LoraConfig',
    `from trl import ${t.trainer}, ${configClass}`,
    '',
    `train = load_dataset("json", data_files="${dataFile}", split="train")`,
    'peft_config = LoraConfig(',
    py(peftLoraKwargs(c)),
    ')',
    `args = ${configClass}(`,
    '    output_dir="out",',
    py(t.kwargs),
    ')',
    `trainer = ${t.trainer}(model="${input.baseModel}", args=args, train_dataset=train, peft_config=peft_config)`,
    'trainer.train()',
    '```',
    '',
    'The same values are in `trl_config.json`. `model` must be a Hugging Face id or a folder: for a',
    'model the lab loaded from a llama2.c file (e.g. stories260K), first write it with',
    '`npm run lab -- export --model stories260K --format merged --out base` and use `"base"`.',
    '',
    '## How the losses compare with the lab',
    '',
  ];
  if (c.objective === 'sft') {
    lines.push('SFT: the lab takes the mean token cross-entropy over response tokens of the batch; `completion_only_loss=True` gives the same masking in TRL.');
  } else if (c.objective === 'dpo') {
    lines.push(`DPO: the lab's loss is TRL's \`loss_type="sigmoid"\` with β = ${c.beta}; the reference model is the base with the adapter switched off, which is what TRL does with a PEFT model and no ref_model.`);
  } else if (c.objective === 'orpo') {
    lines.push(`ORPO: NLL(chosen) + λ·(−log σ(log-odds(chosen) − log-odds(rejected))) with token-mean log-probs; TRL's ORPOTrainer calls λ \`beta\` (= ${c.lambda} here).`);
  } else {
    lines.push(
      `CLO: the lab minimises λ·NLL_target + (1 − λ)·L_CL with λ = ${c.lambda}, β = ${c.beta}. L_CL is the DPO loss averaged over both directions of every quadruple (rows of \`clo_preference.jsonl\`, column \`direction\`), and NLL_target is the token-mean cross-entropy of the target-language answer y_tgt given x_tgt ONLY — never of the English answers.`,
      '',
      "TRL has no built-in CLO loss. The closest setting is DPOTrainer with `rpo_alpha`, which adds an NLL term on the chosen answer of EVERY pair: for CLO data that includes the English-query direction, so TRL also trains on y_en, and it averages over all chosen tokens rather than the target-language ones. TRL's total is L_DPO + rpo_alpha·NLL(chosen); `rpo_alpha = λ/(1 − λ)` above gives the lab's ratio of the two terms up to the overall factor (1 − λ), which AdamW almost ignores (it acts only through ε and gradient clipping). \`per_device_train_batch_size\` is twice the lab's batch size because each quadruple gives two pairs.",
      '',
      'For the exact CLO objective, either subclass DPOTrainer and apply the NLL only to rows with `direction == "tgt"` (the rows of `clo_target_sft.jsonl`), or alternate DPOTrainer on `clo_preference.jsonl` (rpo_alpha=None) with SFTTrainer on `clo_target_sft.jsonl`.',
      '',
      `By default the lab adapts only the attention projections (${c.lora.targets.join(', ')} in this run).`,
    );
  }
  lines.push('', 'Optimizer: AdamW (β1 0.9, β2 0.999, ε 1e-8), linear warmup then cosine decay, global-norm clipping — the TRL/transformers defaults with the values above.', '');
  return lines.join('\n');
}

/** Builds the bundle; returns file name → text. */
export function buildTrlBundle(input: TrlBundleInput): Map<string, string> {
  const files = new Map<string, string>();
  const sft = input.rows.filter((r) => r.kind === 'sft');
  const pref = input.rows.filter((r) => r.kind === 'preference');
  const clo = input.rows.filter((r) => r.kind === 'clo');
  if (sft.length) files.set('sft.jsonl', jsonl(sft.map((r) => ({ prompt: r.prompt, completion: r.response }))));
  if (pref.length) files.set('preference.jsonl', jsonl(pref.map((r) => ({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected }))));
  if (clo.length) {
    files.set('clo_preference.jsonl', jsonl(cloDirections(clo)));
    files.set('clo_target_sft.jsonl', jsonl(clo.map((r) => ({ prompt: r.xTgt, completion: r.yTgt, lang: r.lang }))));
  }
  const t = trlTrainerKwargs(input.config);
  files.set(
    'trl_config.json',
    JSON.stringify({ base_model: input.baseModel, objective: input.config.objective, trainer: t.trainer, trainer_kwargs: t.kwargs, peft_lora_config: peftLoraKwargs(input.config), lab_config: input.config, adapter: input.adapterDir ?? null }, null, 2) + '\n',
  );
  const names = [...files.keys(), 'README.md', ...(input.adapterDir ? [`${input.adapterDir}/`] : [])];
  files.set('README.md', readme(input, names));
  return files;
}
