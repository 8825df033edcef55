/**
 * Inputs read with bounds: data files must be regular files within a size cap, valid UTF-8 without lone
 * surrogates; recipes get the train flags' ranges, stay inside the bundled data and experiments/; adapter
 * configs have a sane scale; checkpoint fields are type-checked and their tensors checksummed; an empty
 * prompt with no BOS is refused instead of spinning; `npm run bench -- --help` prints the help.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, loadStories } from '../helpers/helpers';
import { parseRecipe } from '../../src/lib/experiment/recipe';
import { bundledRecipe } from '../../src/lib/experiment/recipes';
import { fromPeft, peftFileMap, toPeft } from '../../src/lib/formats/peft';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/lib/formats/checkpoint';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import { generate } from '../../src/lib/model/generate';
import type { TrainCheckpoint } from '../../src/lib/train/types';

const tmp = mkdtempSync(join(tmpdir(), 'clo-bounded-'));
const lab = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'cli/lab.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
const train = (data: string, extra: string[] = []) => [
  'train',
  '--objective',
  'sft',
  '--data',
  data,
  '--steps',
  '1',
  '--backend',
  'cpu',
  '--out',
  join(tmp, `out-${Math.random().toString(36).slice(2)}`),
  ...extra,
];

describe('data files', () => {
  it('a device, a pipe or a folder is refused at once, naming it', () => {
    execFileSync('mkfifo', [join(tmp, 'fifo')]);
    for (const [path, re] of [
      ['/dev/zero', /\/dev\/zero is not a regular file/],
      ['/dev/urandom', /not a regular file/],
      [join(tmp, 'fifo'), /fifo is not a regular file/],
      [tmp, /is a folder, not a file/],
    ] as const) {
      const r = lab(train(path));
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
    }
  });

  it('a file above the size cap is refused with the cap and how to raise it', () => {
    const big = join(tmp, 'big.jsonl');
    writeFileSync(big, JSON.stringify({ prompt: 'a'.repeat(3000), response: 'b' }) + '\n');
    const r = lab(train(big), { CLO_MAX_INPUT_MB: '0.001' });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/big\.jsonl is 0 MB, above the 0 MB this input may have \(CLO_MAX_INPUT_MB raises it\)/);
  });

  it('invalid UTF-8 and lone surrogates are reported with their line (JSONL streamed, JSON whole)', () => {
    const good = JSON.stringify({ prompt: 'Once upon a time ', response: 'there was a cat.' });
    const bad = join(tmp, 'bad-utf8.jsonl');
    writeFileSync(
      bad,
      Buffer.concat([
        Buffer.from(`${good}\n${good}\n{"prompt": "x`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('", "response": "y"}\n'),
      ]),
    );
    let r = lab(train(bad));
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/bad-utf8\.jsonl: line 3: invalid UTF-8/);
    const lone = join(tmp, 'lone.jsonl');
    writeFileSync(lone, `${good}\n{"prompt": "x\\ud800", "response": "y"}\n`);
    r = lab(train(lone));
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/lone\.jsonl: line 2: \\ud800 is half of a UTF-16 surrogate pair/);
    const paired = join(tmp, 'paired.jsonl');
    writeFileSync(paired, `${good}\n{"prompt": "smile \\ud83d\\ude00 ", "response": "and \\\\ud800 is text"}\n`);
    r = lab(train(paired));
    expect(r.status, r.stderr).toBe(0);
    const json = join(tmp, 'lone.json');
    writeFileSync(json, `[${good}, {"prompt": "x", "response": "\\udc00"}]`);
    r = lab(train(json));
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/lone\.json: line 1: \\udc00 is half/);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Recipeish = Record<string, any>;

describe('recipes get the flags’ ranges and stay in their folders', () => {
  const base = () => JSON.parse(JSON.stringify(bundledRecipe('clo-vs-sft'))) as Recipeish;
  const refused = (edit: (r: Recipeish) => void, re: RegExp) => {
    const r = base();
    edit(r);
    expect(() => parseRecipe(JSON.stringify(r), 'r.json')).toThrow(re);
  };
  it('refuses absurd and zero values', () => {
    expect(() => parseRecipe(JSON.stringify(base()))).not.toThrow();
    refused((r) => (r.arms[0].train = { lora: { r: 1000000 } }), /arms\[0\]\.train\.lora\.r.*at most 4096/);
    refused((r) => (r.arms[0].train = { lora: { alpha: 0 } }), /lora\.alpha.*more than 0/);
    refused((r) => (r.arms[0].train = { lr: 0 }), /train\.lr.*more than 0/);
    refused((r) => (r.arms[0].train = { clipNorm: 0 }), /clipNorm.*more than 0/);
    refused((r) => (r.budget.lr = 0), /budget\.lr.*more than 0/);
    refused((r) => (r.budget.steps = 1e12), /budget\.steps.*at most/);
    refused((r) => (r.budget.batchSize = 1e9), /budget\.batchSize.*at most/);
  });
  it('refuses data paths outside the bundled data and names that leave experiments/', () => {
    refused((r) => (r.arms[0].data.file = '../../../../etc/passwd'), /data\.file.*inside the bundled data/);
    refused((r) => (r.arms[0].data.file = '/etc/passwd'), /inside the bundled data/);
    refused((r) => (r.arms[0].data.file = 'a//b'), /inside the bundled data/);
    refused((r) => (r.name = '../../x'), /"name": must be letters/);
    refused((r) => (r.name = 'a/b'), /"name": must be letters/);
    refused((r) => (r.name = '..'), /"name": must be letters/);
  });
  it('the memory guard and the rank bound apply to recipes and flags alike', () => {
    const r = base();
    r.arms = [{ ...r.arms[0], train: { lora: { r: 4000 } } }];
    r.checks = []; // its checks name the arms left out
    const f = join(tmp, 'wide.json');
    writeFileSync(f, JSON.stringify(r));
    const e = lab(['experiment', '--recipe', f, '--out', join(tmp, 'wide'), '--backend', 'cpu']);
    expect(e.status, e.stderr).toBe(2);
    expect(e.stderr).toMatch(/LoRA rank 4000 is above stories260K's hidden size 64/);
    const t = lab(train(join(tmp, 'paired.jsonl'), ['--lora-rank', '1000']));
    expect(t.status, t.stderr).toBe(2);
    expect(t.stderr).toMatch(/--lora-rank: LoRA rank 1000 is above/);
  });
});

describe('adapters and checkpoints', () => {
  const model = loadStories();
  const snap = (alpha: number, fill = 0.01) => ({
    config: { r: 2, alpha, dropout: 0, targets: ['q_proj' as const], init: 'gaussian' as const },
    tensors: {
      '0.q_proj': {
        A: new Float32Array(2 * 64).fill(fill),
        B: new Float32Array(64 * 2).fill(fill),
        aShape: [2, 64] as [number, number],
        bShape: [64, 2] as [number, number],
      },
    },
  });
  const peft = (alpha: number, fill?: number) => {
    const files = peftFileMap(toPeft(snap(alpha, fill), model.config, 'stories260K'));
    return {
      cfg: JSON.parse(new TextDecoder().decode(files.get('adapter_config.json'))),
      w: files.get('adapter_model.safetensors')!,
    };
  };
  it('an adapter scale of 1e30 or weights whose update leaves any sane range is refused', async () => {
    const ok = peft(4);
    await expect(fromPeft(ok.cfg, ok.w, model.config)).resolves.toBeTruthy();
    await expect(fromPeft({ ...ok.cfg, lora_alpha: 1e30 }, ok.w, model.config)).rejects.toThrow(
      /lora_alpha 1e\+30 with r 2 gives the scale 5e\+29/,
    );
    const huge = peft(4, 1e5);
    await expect(fromPeft(huge.cfg, huge.w, model.config)).rejects.toThrow(/its update can reach .* per weight/);
  });

  const checkpoint = (step: unknown): TrainCheckpoint =>
    ({
      step,
      config: defaultTrainConfig('sft', { steps: 6 }),
      lora: snap(4),
      optimizer: {
        t: 4,
        m: { '0.q_proj.A': new Float32Array(128).fill(0.5) },
        v: { '0.q_proj.A': new Float32Array(128).fill(0.25) },
      },
      metrics: [{ step: 1, loss: 1 }],
    }) as unknown as TrainCheckpoint;
  it('checkpoint fields are type-checked and every tensor checksummed', async () => {
    const good = encodeCheckpoint({ checkpoint: checkpoint(4), run: {}, trainable: {} });
    expect((await decodeCheckpoint(good)).checkpoint.step).toBe(4);
    await expect(
      decodeCheckpoint(encodeCheckpoint({ checkpoint: checkpoint('4'), run: {}, trainable: {} })),
    ).rejects.toThrow(/field step is "4"; expected a whole number/);
    await expect(
      decodeCheckpoint(encodeCheckpoint({ checkpoint: checkpoint(41), run: {}, trainable: {} })),
    ).rejects.toThrow(/at most config\.steps/);
    for (const at of [good.length - 1, good.length - 300, good.length - 700]) {
      const flipped = good.slice();
      flipped[at] ^= 0x04;
      await expect(decodeCheckpoint(flipped)).rejects.toThrow(/fails its checksum/);
    }
  });

  it('generate refuses a prompt with no tokens instead of spinning', async () => {
    await expect(generate(model, [], { maxNewTokens: 4 })).rejects.toThrow(/the prompt has no tokens/);
  });
});

describe('every --help works', () => {
  it('npm run bench -- --help prints the help and exits 0', () => {
    const r = spawnSync('npm', ['run', '-s', 'bench', '--', '--help'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Flags:/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});
