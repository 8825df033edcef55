/**
 * A fast subset of the issue-16 sweep (tests/fuzz/cli-sweep.ts) run as real child processes: the
 * data-loss and corrupt-write scenarios of the issue (build-pairs over its own input, translator down
 * over an existing output, a cache folder that does not exist, a merged export over the model, train
 * into /proc or over an earlier run, --lr 1e30), strict flags, a 100k-character prompt, broken adapters
 * and a config whose layer count disagrees with its tensors. Each must end as `ok` or `clean-error`
 * exactly as expected; before the robustness work each of them was data loss, a stack trace, a hang or accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFixtures, runCases, type CaseResult, type Fixtures } from '../fuzz/sweep-lib';
import { FAST, buildCases } from '../fuzz/sweep-cases';

const root = mkdtempSync(join(tmpdir(), 'clo-sweep-subset-'));
let fx: Fixtures;
const results = new Map<string, CaseResult>();

beforeAll(async () => {
  fx = await makeFixtures(root);
  const cases = buildCases(fx).filter((c) => FAST.includes(c.name));
  expect(cases.map((c) => c.name).sort()).toEqual([...FAST].sort());
  for (const r of await runCases(cases, fx.inputs, { width: 2 })) results.set(r.name, r);
}, 900_000);

afterAll(async () => {
  await fx?.close();
  rmSync(root, { recursive: true, force: true });
});

const expected: Record<string, { verdict: 'ok' | 'clean-error'; says?: RegExp }> = {
  'build-pairs/out-equals-data': { verdict: 'clean-error', says: /would write over the input given as --data/ },
  'build-pairs/translator-down-keeps-existing-out': { verdict: 'clean-error' },
  'build-pairs/cache-folder-missing': { verdict: 'ok' },
  'export/merged-out-equals-model': { verdict: 'clean-error', says: /would write over the input given as --model/ },
  'train/out-proc': { verdict: 'clean-error', says: /--out: \/proc\/x is inside \/proc/ },
  'train/out-existing-run': { verdict: 'clean-error', says: /pass --overwrite/ },
  'train/lr-1e30': { verdict: 'clean-error', says: /--lr must be a number > 0 and <= 1, got 1e\+30/ },
  'flags/info --json=no': { verdict: 'ok' },
  'flags/info --__proto__': { verdict: 'clean-error', says: /unknown flag --__proto__/ },
  'flags/generate duplicate --seed': { verdict: 'clean-error', says: /--seed given more than once/ },
  'generate/prompt-100k': { verdict: 'ok' },
  'adapter/generate alpha0': { verdict: 'clean-error', says: /lora_alpha must be a positive number, got 0/ },
  'adapter/generate for-hf': {
    verdict: 'clean-error',
    says: /tensor "0\.q_proj\.lora_A" is \[2,16\], the model needs \[2,64\]/,
  },
  'model/hf layers3': { verdict: 'clean-error', says: /num_hidden_layers is 3 but the tensors hold 2/ },
};

describe('CLI sweep, fast subset', () => {
  for (const name of FAST) {
    it(name, () => {
      const r = results.get(name)!;
      const want = expected[name];
      expect(`${r.verdict}: ${r.why}`).toMatch(new RegExp(`^${want.verdict}:`));
      if (want.says) expect(r.stderr).toMatch(want.says);
    });
  }
});
