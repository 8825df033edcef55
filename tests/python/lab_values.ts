/**
 * Lab-side values for the Python interop tests (tests/python/test_interop.py), computed with the lab's
 * engine on the wasm backend:
 *
 *   tsx tests/python/lab_values.ts fixtures OUT
 *     OUT/stories/{base,adapter,lab.json}: stories260K as the merged HF export, a random LoRA on
 *       q/k/v/o/gate/up/down exported as PEFT, the lab's encodings of a few texts and its response
 *       log-prob sums with and without the adapter;
 *     OUT/fixture/{base,adapter,lab.json}: the same for a tiny HF Llama with half RoPE and GQA (4 q / 2 kv heads).
 *     OUT/bundles/<objective>/: for SFT, DPO, ORPO and CLO, a small data file, the TRL bundle written by
 *       the CLI's export command (`export --model stories260K --adapter OUT/stories/adapter --objective O
 *       --format trl`), and lab_step1.json: the lab's step-1 metrics for that run (same config, data and
 *       start adapter).
 *   tsx tests/python/lab_values.ts score JSON_FILE
 *     [{adapter, items: [{ids, start}]}] → response log-prob sums on stories260K with each PEFT adapter
 *     folder (as `lab score` computes them).
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModelArg, loadAdapterArg } from '../../cli/node-env';
import { createLora, snapshotLora, disposeLora, loraFromSnapshot } from '../../src/lib/lora/lora';
import type { LoraSnapshot } from '../../src/lib/lora/types';
import { exportMerged } from '../../src/lib/formats/merged';
import { peftFileMap, toPeft } from '../../src/lib/formats/peft';
import { scoreSequences } from '../../src/lib/model/score';
import type { LoadedModel } from '../../src/lib/model/model';
import { loadHfModel } from '../../src/lib/formats/hf-load';
import { memorySource } from '../../src/lib/formats/file-source';
import { parseDataFile } from '../../src/lib/data';
import { Trainer } from '../../src/lib/train/trainer';
import type { ObjectiveName, TrainConfig } from '../../src/lib/train/types';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { tokenizePair } from '../../src/lib/model/batch';
import { hfFixture } from '../helpers/hf-fixtures';
import { installLabKernels } from '../../src/lib/model/kernels/install';

installLabKernels('wasm');

const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

function writeDir(dir: string, files: Map<string, Uint8Array> | Record<string, Uint8Array | string>) {
  mkdirSync(dir, { recursive: true });
  for (const [n, b] of files instanceof Map ? files : Object.entries(files)) writeFileSync(join(dir, n), b);
}

/** A LoRA with random B (a fresh one has B = 0 and would hide layout mistakes). */
async function randomAdapter(m: LoadedModel, seed: number, scale = 0.3): Promise<LoraSnapshot> {
  const l = createLora(m.config, { r: 4, alpha: 8, dropout: 0, targets: [...ALL], init: 'gaussian' }, seed);
  const snap = await snapshotLora(l);
  disposeLora(l);
  let s = seed * 7919 + 1;
  for (const t of Object.values(snap.tensors))
    for (let i = 0; i < t.B.length; i++) t.B[i] = ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * scale;
  return snap;
}

async function scores(m: LoadedModel, items: { ids: number[]; start: number }[], snap: LoraSnapshot | null) {
  const lora = snap ? loraFromSnapshot(snap) : null;
  const r = await scoreSequences(m, items, { lora });
  if (lora) disposeLora(lora);
  return r.map((x) => x.sum);
}

async function fixtures(out: string) {
  // stories260K (llama2.c: interleaved RoPE, 8 q / 4 kv heads)
  const m = await loadModelArg('stories260K');
  writeDir(join(out, 'stories/base'), await exportMerged(m, null));
  const snap = await randomAdapter(m, 3);
  writeDir(join(out, 'stories/adapter'), peftFileMap(toPeft(snap, m.config, 'base')));
  // a milder one to start the bundles' runs from (losses near the base model's)
  const start = await randomAdapter(m, 4, 0.04);
  writeDir(join(out, 'stories/start'), peftFileMap(toPeft(start, m.config, 'base')));
  const texts = [
    'Once upon a time, there was a little cat named Tom.',
    'Lily said, "Look at the big red ball!"',
    '안녕하세요, 고양이가 공을 좋아해요.',
    'The dog 🐶 ran fast. 🎉 ok',
  ];
  const pairs = [
    ['Once upon a time, there was a little cat. ', 'The cat liked to play with a red ball.'],
    ['Lily went to the park. ', 'She saw a big dog and said hello.'],
    ['옛날에 작은 고양이가 ', '살았어요.'],
  ];
  const items = pairs.map(([p, r]) => tokenizePair(m.tokenizer, p, r, m.config.maxSeqLen, false));
  writeFileSync(
    join(out, 'stories/lab.json'),
    JSON.stringify({
      texts,
      encodings: texts.map((t) => m.tokenizer.encode(t)),
      items,
      base: await scores(m, items, null),
      adapter: await scores(m, items, snap),
    }),
  );
  // a Hugging Face Llama with half RoPE and GQA
  const fx = hfFixture('llama', 'F32');
  writeDir(join(out, 'fixture/base'), fx.files);
  const hf = await loadHfModel(memorySource(fx.files), 'fixture');
  const fsnap = await randomAdapter(hf, 5);
  writeDir(join(out, 'fixture/adapter'), peftFileMap(toPeft(fsnap, hf.config, 'base')));
  const fitems = [
    { ids: [0, 5, 6, 7, 8, 9, 10, 11], start: 3 },
    { ids: [0, 12, 3, 4, 20, 21, 30, 2, 39], start: 2 },
  ];
  writeFileSync(
    join(out, 'fixture/lab.json'),
    JSON.stringify({
      items: fitems,
      base: await scores(hf, fitems, null),
      adapter: await scores(hf, fitems, fsnap),
      nHeads: hf.config.nHeads,
      nKvHeads: hf.config.nKvHeads,
      ropeStyle: hf.config.ropeStyle,
    }),
  );
}

const DATA: Record<string, object[]> = {
  sft: [
    { prompt: 'Once upon a time, there was a little cat. ', response: 'The cat liked to play with a red ball.' },
    { prompt: 'Lily went to the park. ', response: 'She saw a big dog and said hello.' },
    { prompt: 'Tom had a toy car. ', response: 'He played with it all day and was happy.' },
  ],
  pref: [
    {
      prompt: 'Once upon a time, there was a little cat. ',
      chosen: 'The cat liked to play with a red ball.',
      rejected: 'Ball red the with cat.',
    },
    { prompt: 'Lily went to the park. ', chosen: 'She saw a big dog and said hello.', rejected: 'Dog big hello said.' },
    { prompt: 'Tom had a toy car. ', chosen: 'He played with it all day and was happy.', rejected: 'Car toy day all.' },
  ],
  clo: [
    {
      x_en: 'Once upon a time, there was a cat. ',
      y_en: 'The cat was happy.',
      x_tgt: '옛날에 고양이가 있었어요. ',
      y_tgt: '고양이는 행복했어요.',
      lang: 'ko',
    },
    {
      x_en: 'Lily went to the park. ',
      y_en: 'She saw a dog.',
      x_tgt: '릴리는 공원에 갔어요. ',
      y_tgt: '개를 봤어요.',
      lang: 'ko',
    },
    {
      x_en: 'Tom had a toy. ',
      y_en: 'He played all day.',
      x_tgt: '톰은 장난감이 있었어요. ',
      y_tgt: '하루 종일 놀았어요.',
      lang: 'ko',
    },
  ],
};

async function bundles(out: string) {
  const { run } = await import('../../cli/commands/export');
  for (const o of ['sft', 'dpo', 'orpo', 'clo']) {
    const dir = join(out, 'bundles', o);
    mkdirSync(dir, { recursive: true });
    const data = join(dir, 'data.jsonl');
    writeFileSync(
      data,
      DATA[o === 'sft' ? 'sft' : o === 'clo' ? 'clo' : 'pref'].map((r) => JSON.stringify(r)).join('\n') + '\n',
    );
    // the adapter folder's run.json gives export the run's settings: 2 steps of 2 rows
    const adapter = join(dir, 'adapter');
    mkdirSync(adapter, { recursive: true });
    for (const f of ['adapter_config.json', 'adapter_model.safetensors'])
      writeFileSync(join(adapter, f), readFileSync(join(out, 'stories/start', f)));
    const cfg = defaultTrainConfig(o as ObjectiveName, {
      steps: 2,
      batchSize: 2,
      maxSeqLen: 64,
      seed: 3,
      lora: { r: 4, alpha: 8, dropout: 0, targets: [...ALL], init: 'gaussian' },
    });
    writeFileSync(join(adapter, 'run.json'), JSON.stringify({ config: cfg, data: { file: data } }));
    const code = await run([
      '--model',
      'stories260K',
      '--adapter',
      adapter,
      '--backend',
      'wasm',
      '--data',
      data,
      '--format',
      'trl',
      '--out',
      join(dir, 'bundle'),
      '--json',
    ]);
    if (code !== 0) throw new Error(`export for ${o} exited ${code}`);
    writeFileSync(join(dir, 'lab_step1.json'), JSON.stringify(await step1(join(dir, 'bundle'), data)));
  }
}

async function step1(bundle: string, data: string) {
  const m = await loadModelArg('stories260K');
  const cfg = JSON.parse(readFileSync(join(bundle, 'trl_config.json'), 'utf8')).lab_config as TrainConfig;
  const lora = await loadAdapterArg(join(bundle, 'adapter'), m);
  const snap = await snapshotLora(lora);
  disposeLora(lora);
  const kind = cfg.objective === 'sft' ? 'sft' : cfg.objective === 'clo' ? 'clo' : 'preference';
  const rows = parseDataFile(readFileSync(data, 'utf8'), data, {
    expect: kind,
    chatTemplate: m.tokenizer.chatTemplate ?? null,
  }).rows;
  const zeros: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(snap.tensors)) {
    zeros[`${k}.A`] = new Float32Array(t.A.length);
    zeros[`${k}.B`] = new Float32Array(t.B.length);
  }
  const trainer = Trainer.create(m, rows, cfg, {
    step: 0,
    config: cfg,
    lora: snap,
    optimizer: { t: 0, m: zeros, v: { ...zeros } },
    metrics: [],
  });
  const metrics = await trainer.step();
  trainer.dispose();
  return metrics;
}

/**
 * Continuation fixtures: for each objective a lab run of 6 steps (batch 2, lr 3e-3) checkpointed at
 * step 3 as the CLI's `train --out` folder would hold it (OUT/cont/<o>/ck3: checkpoint.safetensors with
 * the run's flags, adapter); the CLI's `train --resume` of a copy continues it to step 6 (ck3_resumed,
 * run.json metrics); the CLI's `export --format trl --adapter ck3` writes the bundle. `pt` runs on
 * stories260K extended by `vocab` (8 added tokens) with their embedding rows trained. With `dp`, an SFT
 * and a CLO bundle of batch 4 exported from step 0 (no state) for the data-parallel checks.
 */
async function continuation(out: string, objectives: string[]) {
  const { run: exportRun } = await import('../../cli/commands/export');
  const { run: trainRun } = await import('../../cli/commands/train');
  const { CliCheckpointer, runInfo } = await import('../../cli/train-checkpoint');
  const { run: vocabRun } = await import('../../cli/commands/vocab');
  const { addedRowsStart, parseTextRows } = await import('../../cli/vocab-io');
  const stories = await loadModelArg('stories260K');
  for (const o of objectives) {
    const dir = join(out, 'cont', o);
    mkdirSync(dir, { recursive: true });
    const data = join(dir, 'data.jsonl');
    writeFileSync(
      data,
      (o === 'pt' ? PT_TEXTS.map((text) => ({ text })) : DATA[o === 'sft' ? 'sft' : o === 'clo' ? 'clo' : 'pref'])
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    // pt: stories260K with 8 Korean tokens added by `vocab` (mean init), their rows trained
    let modelArg = 'stories260K';
    if (o === 'pt') {
      modelArg = join(dir, 'model');
      const code = await vocabRun(['--model', 'stories260K', '--add', '8', '--init', 'mean', '--out', modelArg]);
      if (code !== 0) throw new Error(`vocab exited ${code}`);
    }
    const m = o === 'pt' ? await loadModelArg(modelArg) : stories;
    const ck = join(dir, 'ck3');
    const argv = [
      ...['--model', modelArg, '--objective', o, '--data', data, '--steps', '6', '--batch-size', '2'],
      ...['--lr', '3e-3', '--max-seq-len', '64', '--seed', '3', '--lora-rank', '4', '--lora-alpha', '8'],
      ...['--lora-targets', ALL.join(','), '--checkpoint-every', '3', '--backend', 'wasm', '--out', ck],
      ...(o === 'pt' ? ['--train-embeddings', 'new'] : []),
    ];
    const cfg = defaultTrainConfig(o as ObjectiveName, {
      steps: 6,
      batchSize: 2,
      lr: 3e-3,
      maxSeqLen: 64,
      seed: 3,
      checkpointEvery: 3,
      lora: { r: 4, alpha: 8, dropout: 0, targets: [...ALL], init: 'gaussian' },
      ...(o === 'pt' ? { trainRowsFrom: addedRowsStart(m, modelArg) } : {}),
    });
    const rows =
      o === 'pt'
        ? parseTextRows(readFileSync(data, 'utf8'), data).rows
        : parseDataFile(readFileSync(data, 'utf8'), data, {
            expect: o === 'sft' ? 'sft' : o === 'clo' ? 'clo' : 'preference',
            chatTemplate: m.tokenizer.chatTemplate ?? null,
          }).rows;
    const trainer = Trainer.create(m, rows, cfg);
    for (let i = 0; i < 3; i++) await trainer.step();
    mkdirSync(ck, { recursive: true });
    const saver = new CliCheckpointer(ck, 3, runInfo(argv, data, m, modelArg), m);
    await saver.save(trainer);
    saver.dispose();
    trainer.dispose();
    const resumed = join(dir, 'ck3_resumed');
    cpSync(ck, resumed, { recursive: true });
    if ((await trainRun(['--resume', resumed, '--backend', 'wasm', '--json'])) !== 0) throw new Error('resume failed');
    const code = await exportRun([
      ...['--model', modelArg, '--adapter', ck, '--backend', 'wasm', '--format', 'trl'],
      ...['--out', join(dir, 'bundle'), '--json'],
    ]);
    if (code !== 0) throw new Error(`export for ${o} exited ${code}`);
  }
}

const PT_TEXTS = [
  '옛날에 작은 고양이가 살았어요. 고양이는 공을 좋아했어요.',
  '릴리는 공원에 갔어요. 큰 개를 보고 인사했어요.',
  '톰은 장난감 자동차가 있었어요. 하루 종일 놀았어요.',
  'Once upon a time, there was a little cat. 고양이는 행복했어요.',
];

/** Bundles of batch 4 from step 0 for the data-parallel checks (OUT/dp/<o>/bundle). */
async function dpBundles(out: string, objectives: string[]) {
  const { run: exportRun } = await import('../../cli/commands/export');
  const m = await loadModelArg('stories260K');
  const start = await randomAdapter(m, 4, 0.04);
  for (const o of objectives) {
    const dir = join(out, 'dp', o);
    const adapter = join(dir, 'adapter');
    mkdirSync(adapter, { recursive: true });
    const data = join(dir, 'data.jsonl');
    writeFileSync(
      data,
      DATA[o === 'sft' ? 'sft' : o === 'clo' ? 'clo' : 'pref'].map((r) => JSON.stringify(r)).join('\n') + '\n',
    );
    writeDir(adapter, peftFileMap(toPeft(start, m.config, 'base')));
    const cfg = defaultTrainConfig(o as ObjectiveName, {
      steps: 3,
      batchSize: 4,
      lr: 3e-3,
      maxSeqLen: 64,
      seed: 3,
      lora: { r: 4, alpha: 8, dropout: 0, targets: [...ALL], init: 'gaussian' },
    });
    writeFileSync(join(adapter, 'run.json'), JSON.stringify({ config: cfg, data: { file: data } }));
    const code = await exportRun([
      ...['--model', 'stories260K', '--adapter', adapter, '--backend', 'wasm', '--data', data, '--format', 'trl'],
      ...['--out', join(dir, 'bundle'), '--json'],
    ]);
    if (code !== 0) throw new Error(`export for ${o} exited ${code}`);
  }
}

async function score(file: string) {
  const m = await loadModelArg('stories260K');
  const out: number[][] = [];
  for (const job of JSON.parse(readFileSync(file, 'utf8')) as {
    adapter: string;
    items: { ids: number[]; start: number }[];
  }[]) {
    const lora = await loadAdapterArg(job.adapter, m);
    out.push((await scoreSequences(m, job.items, { lora })).map((x) => x.sum));
    disposeLora(lora);
  }
  console.log(JSON.stringify(out));
}

async function main() {
  await tf.setBackend('wasm');
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'fixtures') {
    await fixtures(rest[0]);
    await bundles(rest[0]);
  } else if (cmd === 'continuation') await continuation(rest[0], rest.slice(1));
  else if (cmd === 'dp') await dpBundles(rest[0], rest.slice(1));
  else if (cmd === 'score') await score(rest[0]);
  else throw new Error(`unknown command ${cmd}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
