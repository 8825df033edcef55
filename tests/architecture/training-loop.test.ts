/**
 * One training loop: src/lib/train/run-training.ts is the only place outside tests and the bench that
 * steps a Trainer (calls `.step(`) in src/, workers/ and cli/. The page's train worker, the CLI, the
 * experiment runner and the vocabulary view's continued pretraining all go through runTraining.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/helpers';

const LOOP = 'src/lib/train/run-training.ts';
/** code that is not a training loop: the bench's timing harness, and the Python script text train.py (`sched.step()`) */
const EXEMPT = [/^src\/bench\//, /^src\/lib\/formats\/trl-train-py\.ts$/];

function listCode(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listCode(p));
    else if (/\.(ts|svelte|js|mjs)$/.test(e) && !e.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `file:line` of every `.step(` call in `files` (paths relative to the root) outside the loop and the exempt files. */
export function stepCallSites(files: { path: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f.path === LOOP || EXEMPT.some((r) => r.test(f.path))) continue;
    f.text.split('\n').forEach((line, i) => {
      if (/\.step\s*\(/.test(line.replace(/\/\/.*$/, ''))) out.push(`${f.path}:${i + 1}`);
    });
  }
  return out;
}

describe('one training loop', () => {
  const files = ['src', 'workers', 'cli'].flatMap((d) =>
    listCode(resolve(ROOT, d)).map((p) => ({
      path: relative(ROOT, p).split(sep).join('/'),
      text: readFileSync(p, 'utf8'),
    })),
  );

  it('only src/lib/train/run-training.ts calls a trainer step', () => {
    expect(stepCallSites(files)).toEqual([]);
    expect(stepCallSites([{ path: 'x.ts', text: readFileSync(resolve(ROOT, LOOP), 'utf8') }]).length).toBeGreaterThan(
      0,
    );
  });

  it('the train worker, the CLI, the experiment runner and the vocabulary worker use runTraining', () => {
    for (const f of [
      'workers/train/session.ts',
      'cli/commands/train.ts',
      'src/lib/experiment/runner.ts',
      'workers/vocab/vocab.worker.ts',
    ])
      expect(readFileSync(resolve(ROOT, f), 'utf8'), f).toMatch(/\brunTraining\(/);
  });

  it('the check catches a step loop (planted)', () => {
    const planted = 'while (!t.done) {\n  const m = await trainer.step();\n}';
    expect(stepCallSites([{ path: 'workers/x.ts', text: planted }])).toEqual(['workers/x.ts:2']);
  });
});
