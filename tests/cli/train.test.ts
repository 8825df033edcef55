/**
 * The real CLI end to end: `lab train --objective clo` for 50 steps on the bundled paired Alpaca/KoAlpaca
 * data (wasm backend, child process). Checks that it learns, the PEFT layout of what it writes, run.json,
 * that step 1's logged loss equals λ·NLL_target + (1 − λ)·ln 2 computed here on step 1's batch, and no tensor leak.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadStories, ROOT } from '../helpers/helpers';
import { parseDataFile } from '../../src/lib/data';
import type { CloRow } from '../../src/lib/data/rows';
import type { LoadedModel } from '../../src/lib/model/model';
import { scoreSequences } from '../../src/lib/model/score';
import { EpochSampler } from '../../src/lib/train/sampler';

const DATA = 'public/data/instructions/paired_alpaca_koalpaca_en_ko.jsonl';
const STEPS = 50;
const BATCH = 2;
const MAX_LEN = 96;
const SEED = 0;
const LAMBDA = 0.5; // CLO default
const R = 8; // default --lora-rank
const ALPHA = 16;

let out: string;
let run: { status: number | null; stdout: string; stderr: string; seconds: number };
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the CLI's --json output, read as an untyped tree; the assertions check it
let runJson: any;

type Metrics = Record<string, number>;
const meanOf = (ms: Metrics[], k: string) => ms.reduce((s, m) => s + m[k], 0) / ms.length;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'clo-train-cli-'));
  const t0 = Date.now();
  const p = spawnSync(
    process.execPath,
    [
      'cli/launch.mjs',
      'cli/lab.ts',
      'train',
      '--objective',
      'clo',
      '--data',
      DATA,
      '--steps',
      String(STEPS),
      '--batch-size',
      String(BATCH),
      '--max-seq-len',
      String(MAX_LEN),
      '--lr',
      '3e-3',
      '--seed',
      String(SEED),
      '--skip-bad-rows',
      '--backend',
      'wasm',
      '--out',
      out,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 170_000 },
  );
  run = { status: p.status, stdout: p.stdout, stderr: p.stderr, seconds: (Date.now() - t0) / 1000 };
  if (p.status === 0) runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
  else console.error(p.stderr);
});

describe('lab train --objective clo (50 steps, wasm)', () => {
  it('exits 0 and prints the summary JSON as its last stdout line', () => {
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]);
    expect(summary.steps).toBe(STEPS);
    expect(summary.out).toBe(resolve(out));
    expect(summary.final_loss).toBeCloseTo(runJson.metrics[STEPS - 1].loss, 6);
    expect(summary.tokens_per_s).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/backend: wasm/);
    console.log(
      `train CLI: ${run.seconds.toFixed(1)} s; loss first/last ${runJson.metrics[0].loss.toFixed(4)} / ${runJson.metrics[STEPS - 1].loss.toFixed(4)}; ` +
        `loss/nll mean first 10 ${meanOf(runJson.metrics.slice(0, 10), 'loss/nll').toFixed(3)}, last 10 ${meanOf(runJson.metrics.slice(-10), 'loss/nll').toFixed(3)}; ` +
        `margins ${meanOf(runJson.metrics.slice(0, 10), 'rewards/margins').toFixed(3)} → ${meanOf(runJson.metrics.slice(-10), 'rewards/margins').toFixed(3)}; ` +
        `${runJson.timings.tokens_per_s.toFixed(0)} tok/s`,
    );
  });

  it('learns: loss/nll falls and rewards/margins rise (means of the first vs last 10 steps)', () => {
    const m: Metrics[] = runJson.metrics;
    expect(meanOf(m.slice(-10), 'loss/nll')).toBeLessThan(meanOf(m.slice(0, 10), 'loss/nll'));
    expect(meanOf(m.slice(-10), 'rewards/margins')).toBeGreaterThan(meanOf(m.slice(0, 10), 'rewards/margins'));
    expect(meanOf(m.slice(-10), 'loss')).toBeLessThan(meanOf(m.slice(0, 10), 'loss'));
  });

  it('run.json holds config, 50 per-step metric records and timings', () => {
    expect(runJson.backend).toBe('wasm');
    expect(runJson.config.objective).toBe('clo');
    expect(runJson.config.steps).toBe(STEPS);
    expect(runJson.config.batchSize).toBe(BATCH);
    expect(runJson.config.maxSeqLen).toBe(MAX_LEN);
    expect(runJson.metrics).toHaveLength(STEPS);
    runJson.metrics.forEach((m: Metrics, i: number) => {
      expect(m.step).toBe(i + 1);
      for (const k of [
        'loss',
        'loss/nll',
        'loss/pref',
        'rewards/chosen',
        'rewards/rejected',
        'rewards/margins',
        'rewards/accuracies',
        'lr',
        'grad_norm',
        'tokens_per_s',
      ])
        expect(Number.isFinite(m[k]), `step ${i + 1} ${k}`).toBe(true);
    });
    expect(runJson.metrics[0].lr).toBeCloseTo(3e-3, 10);
    expect(runJson.metrics[STEPS - 1].lr).toBeLessThan(runJson.metrics[0].lr); // cosine decay
    expect(runJson.timings.seconds).toBeGreaterThan(0);
    expect(runJson.timings.num_tensors_per_step).toHaveLength(STEPS);
  });

  it('does not leak tensors: the live tensor count after step 2 equals the count after step 50', () => {
    const n: number[] = runJson.timings.num_tensors_per_step;
    expect(n[STEPS - 1]).toBe(n[1]);
  });

  it('writes the adapter in PEFT layout', () => {
    expect(readdirSync(out).sort()).toEqual([
      'adapter_config.json',
      'adapter_model.safetensors',
      'checkpoint.safetensors',
      'run.json',
    ]);
    const cfg = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(cfg.peft_type).toBe('LORA');
    expect(cfg.r).toBe(R);
    expect(cfg.lora_alpha).toBe(ALPHA);
    expect([...cfg.target_modules].sort()).toEqual(['k_proj', 'o_proj', 'q_proj', 'v_proj']);

    // safetensors: 8-byte little-endian header length, JSON header, then the data (read by hand here)
    const bytes = readFileSync(join(out, 'adapter_model.safetensors'));
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    const data = bytes.subarray(8 + n);
    const keys = Object.keys(header).filter((k) => k !== '__metadata__');
    // stories260K: dim 64, 8 heads, 4 KV heads (head dim 8), 5 layers
    const outDim: Record<string, number> = { q_proj: 64, k_proj: 32, v_proj: 32, o_proj: 64 };
    const want: string[] = [];
    for (let l = 0; l < 5; l++)
      for (const t of Object.keys(outDim))
        for (const ab of ['A', 'B']) want.push(`base_model.model.model.layers.${l}.self_attn.${t}.lora_${ab}.weight`);
    expect(keys.sort()).toEqual(want.sort());
    let maxB = 0;
    for (const k of keys) {
      const h = header[k];
      const t = /self_attn\.(\w+)\.lora_(A|B)/.exec(k)!;
      expect(h.dtype).toBe('F32');
      expect(h.shape).toEqual(t[2] === 'A' ? [R, 64] : [outDim[t[1]], R]);
      expect(h.data_offsets[1] - h.data_offsets[0]).toBe(4 * h.shape[0] * h.shape[1]);
      if (t[2] === 'B') {
        const v = new Float32Array(
          data.buffer.slice(data.byteOffset + h.data_offsets[0], data.byteOffset + h.data_offsets[1]),
        );
        for (const x of v) maxB = Math.max(maxB, Math.abs(x));
      }
    }
    expect(maxB).toBeGreaterThan(1e-3); // B trained away from 0
  });

  it("step 1's logged loss = λ·NLL_target + (1 − λ)·ln 2 on step 1's batch, computed here (cpu)", async () => {
    await tf.setBackend('cpu');
    const model: LoadedModel = loadStories();
    const tok = model.tokenizer;
    const parsed = parseDataFile(readFileSync(resolve(ROOT, DATA), 'utf8'), DATA, { expect: 'clo' });
    /** docs/methods.md §1: prompt+response as one text, EOS appended, prompt tokens left-truncated (BOS kept); null if the response does not fit */
    const fit = (prompt: string, response: string): { ids: number[]; start: number } | null => {
      const ids = [...tok.encode(prompt + response), tok.eosId!];
      let start = tok.encode(prompt).length;
      if (ids.length <= MAX_LEN) return { ids, start };
      const drop = ids.length - MAX_LEN;
      if (start - drop < 1) return null;
      start -= drop;
      return { ids: [ids[0], ...ids.slice(1 + drop)], start };
    };
    // usable rows: all four sequences of the quadruple fit
    const usable = (parsed.rows as CloRow[]).filter((r) =>
      [fit(r.xEn, r.yEn), fit(r.xEn, r.yTgt), fit(r.xTgt, r.yTgt), fit(r.xTgt, r.yEn)].every(Boolean),
    );
    expect(usable.length).toBeGreaterThan(BATCH);
    const idx = new EpochSampler(usable.length, SEED).batch(0, BATCH);
    const tgt = await scoreSequences(
      model,
      idx.map((i) => fit(usable[i].xTgt, usable[i].yTgt)!),
    );
    const nllTgt = -tgt.reduce((s, x) => s + x.sum, 0) / tgt.reduce((s, x) => s + x.count, 0);
    const want = LAMBDA * nllTgt + (1 - LAMBDA) * Math.LN2;
    const m0 = runJson.metrics[0];
    expect(Math.abs(m0['loss/nll'] - nllTgt)).toBeLessThan(1e-4 * nllTgt);
    expect(Math.abs(m0.loss - want)).toBeLessThan(1e-4 * want);
    expect(m0['loss/pref']).toBeCloseTo(Math.LN2, 6);
    expect(m0.tokens).toBe(
      idx.reduce(
        (s, i) =>
          s +
          [
            fit(usable[i].xEn, usable[i].yEn),
            fit(usable[i].xEn, usable[i].yTgt),
            fit(usable[i].xTgt, usable[i].yTgt),
            fit(usable[i].xTgt, usable[i].yEn),
          ].reduce((a, q) => a + q!.ids.length, 0),
        0,
      ),
    );
  });
});
