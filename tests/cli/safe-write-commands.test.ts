/**
 * The one safe-write path for `vocab` and `experiment` (as train and export): an --out that is, lies
 * inside or holds an input (through symlinks) is refused, an existing model folder is only replaced with
 * --overwrite, SIGKILL at random moments leaves either the earlier files or the new ones (never a mix that
 * looks complete), a full disk (a file-size limit: writes fail with EFBIG) leaves the earlier files as they
 * were and no temporaries; one writer per output folder (a second is refused naming the first), and
 * `train --resume A --out B` is refused by name.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ROOT } from '../helpers/helpers';
import { bundledRecipe } from '../../src/lib/experiment/recipes';

const CLI = ['--import', 'tsx', 'cli/lab.ts'];
const tmp = mkdtempSync(join(tmpdir(), 'clo-safe-write-'));
const corpus = join(tmp, 'ko.jsonl');
const model = join(tmp, 'model');
const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;

function lab(args: string[], opts: { fsize?: number } = {}) {
  const [cmd, argv] = opts.fsize
    ? ['prlimit', [`--fsize=${opts.fsize}`, process.execPath, ...CLI, ...args]]
    : [process.execPath, [...CLI, ...args]];
  return spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
}
/** Starts a command and SIGKILLs it after `ms`. */
function killAfter(args: string[], ms: number): Promise<number | null> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: 'ignore' });
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (code) => (clearTimeout(t), res(code)));
  });
}
/** Every file under dir (relative path → sha256), temporaries and the lock included. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}
const without = (t: Record<string, string>, ...names: string[]) =>
  Object.fromEntries(Object.entries(t).filter(([k]) => !names.includes(k)));
const temporaries = (t: Record<string, string>) => Object.keys(t).filter((k) => /\.partial$|\.clo-/.test(k));

const vocabArgs = (out: string, add = 32, extra: string[] = []) => [
  'vocab',
  '--backend',
  'cpu',
  '--corpus',
  corpus,
  '--add',
  String(add),
  '--init',
  'mean',
  '--out',
  out,
  ...extra,
];

beforeAll(() => {
  writeFileSync(
    corpus,
    readFileSync(resolve(ROOT, 'public/data/instructions/ko_chatbot_300.jsonl'), 'utf8')
      .split('\n')
      .slice(0, 60)
      .join('\n') + '\n',
  );
  const v = lab(vocabArgs(model));
  if (v.status !== 0) throw new Error(v.stderr);
  symlinkSync(model, join(tmp, 'model-link'));
}, 120_000);

describe('vocab --out', () => {
  it('refuses an output that is, lies inside or holds an input, an existing model without --overwrite, "" and /proc', () => {
    const before = tree(model);
    const cases: [string[], RegExp][] = [
      [vocabArgs(model, 32, ['--model', model, '--overwrite']), /would write over the input given as --model/],
      [vocabArgs(join(tmp, 'model-link'), 32, ['--model', model, '--overwrite']), /would write over the input/],
      [vocabArgs(join(tmp, 'model-link', 'sub'), 32, ['--model', model]), /lies inside the input given as --model/],
      [vocabArgs(tmp, 32), /holds the input given as --corpus/],
      [vocabArgs(model, 64), /already holds config\.json.*pass --overwrite/],
      [vocabArgs(''), /needs a path/],
      [vocabArgs('/proc/x'), /inside \/proc/],
    ];
    for (const [args, re] of cases) {
      const r = lab(args);
      expect(r.status, `${args.join(' ')}\n${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(tree(model)).toEqual(before);
  });

  it('SIGKILL at random moments of an --overwrite leaves the earlier model or the new one, never a mix', async () => {
    const dir = join(tmp, 'killed');
    mkdirSync(dir);
    for (const f of readdirSync(model)) copyFileSync(join(model, f), join(dir, f));
    const old = without(tree(dir), 'vocab.json');
    const fresh = join(tmp, 'fresh');
    expect(lab(vocabArgs(fresh, 64)).status).toBe(0);
    const next = without(tree(fresh), 'vocab.json');
    expect(next).not.toEqual(old);
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      await killAfter(vocabArgs(dir, 64, ['--overwrite']), 800 + Math.random() * 3000);
      const t = tree(dir);
      const files = without(t, 'vocab.json', ...temporaries(t));
      if (!('config.json' in files)) {
        seen.add('no config.json'); // killed between the first and the last rename: not a model folder
        continue;
      }
      const state = JSON.stringify(files) === JSON.stringify(old) ? 'old' : 'new';
      seen.add(state);
      expect(files).toEqual(state === 'old' ? old : next);
    }
    // the next run clears what the killed ones left
    const r = lab(vocabArgs(dir, 64, ['--overwrite']));
    expect(r.status, r.stderr).toBe(0);
    expect(temporaries(tree(dir))).toEqual([]);
    expect(without(tree(dir), 'vocab.json')).toEqual(next);
  }, 240_000);

  it.runIf(hasPrlimit)(
    'a full disk leaves the earlier model as it was, and a new folder not at all',
    () => {
      const dir = join(tmp, 'full');
      mkdirSync(dir);
      for (const f of readdirSync(model)) copyFileSync(join(model, f), join(dir, f));
      const before = tree(dir);
      const big = statSync(join(model, 'model.safetensors')).size;
      const r = lab(vocabArgs(dir, 64, ['--overwrite']), { fsize: Math.floor(big / 2) });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/write failed \(EFBIG\); nothing in the folder was replaced/);
      expect(tree(dir)).toEqual(before);
      const nowhere = join(tmp, 'full-new');
      expect(lab(vocabArgs(nowhere, 64), { fsize: Math.floor(big / 2) }).status).toBe(1);
      expect(existsSync(nowhere)).toBe(false);
    },
    120_000,
  );
});

/**
 * clo-vs-sft with an evaluation suite of English perplexity alone: these tests are about how the
 * experiment writes its folder, and the full suite (fidelity generations, KoBEST) is most of a run's time.
 */
const recipeFile = join(tmp, 'clo-vs-sft-ppl.json');
writeFileSync(recipeFile, JSON.stringify({ ...bundledRecipe('clo-vs-sft'), suite: { perplexity: { limit: 1 } } }));
const expArgs = (out: string, steps = 2, extra: string[] = []) => [
  'experiment',
  '--recipe',
  recipeFile,
  '--steps',
  String(steps),
  '--batch-size',
  '1',
  '--max-seq-len',
  '32',
  '--eval-limit',
  '1',
  '--arms',
  'sft-ko',
  '--backend',
  'cpu',
  '--out',
  out,
  ...extra,
];

describe('experiment --out', () => {
  it('refuses a folder of other files, one holding the recipe file, and a finished run of other settings', () => {
    const before = tree(model);
    const r1 = lab(expArgs(model));
    expect(r1.status, r1.stderr).toBe(2);
    expect(r1.stderr).toMatch(/holds files that are not an experiment run; pass --overwrite/);
    expect(tree(model)).toEqual(before);
    const rdir = join(tmp, 'recipes');
    mkdirSync(rdir);
    writeFileSync(join(rdir, 'r.json'), JSON.stringify(bundledRecipe('clo-vs-sft')));
    const r2 = lab(['experiment', '--recipe', join(rdir, 'r.json'), '--out', rdir, '--steps', '1']);
    expect(r2.status, r2.stderr).toBe(2);
    expect(r2.stderr).toMatch(/holds the input given as --recipe/);
    const done = join(tmp, 'exp-done');
    expect(lab(expArgs(done)).status).toBe(0);
    const t = tree(done);
    const r3 = lab(expArgs(done, 3));
    expect(r3.status, r3.stderr).toBe(2);
    expect(r3.stderr).toMatch(/holds a finished run of different settings; pass --overwrite/);
    expect(tree(done)).toEqual(t);
  }, 240_000);

  it('SIGKILL at random moments leaves only whole files; the next run finishes the report', async () => {
    const dir = join(tmp, 'exp-killed');
    for (let i = 0; i < 3; i++) {
      await killAfter(expArgs(dir, 3), 3000 + Math.random() * 9000);
      const t = tree(dir);
      for (const k of Object.keys(without(t, ...temporaries(t)))) {
        const text = readFileSync(join(dir, k), 'utf8');
        if (k.endsWith('.json')) expect(() => JSON.parse(text), k).not.toThrow();
        expect(statSync(join(dir, k)).size, k).toBeGreaterThan(0);
      }
      const arm = join(dir, 'arms', 'sft-ko');
      if (existsSync(join(arm, 'config.json')))
        expect(
          readdirSync(arm)
            .filter((f) => !f.startsWith('.'))
            .sort(),
        ).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'config.json', 'train.jsonl']);
    }
    const r = lab(expArgs(dir, 3));
    expect(r.status, r.stderr).toBe(0);
    expect(temporaries(tree(dir))).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toBeTruthy();
  }, 300_000);

  it.runIf(hasPrlimit)(
    'a full disk fails cleanly and leaves no partial files',
    () => {
      const dir = join(tmp, 'exp-full');
      const r = lab(expArgs(dir), { fsize: 50_000 });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n').pop()).toMatch(/EFBIG/);
      const t = tree(dir);
      expect(temporaries(t)).toEqual([]);
      expect(existsSync(join(dir, 'arms', 'sft-ko', 'train.jsonl'))).toBe(false);
    },
    120_000,
  );
});

describe('one writer per output folder', () => {
  const data = join(tmp, 'sft.jsonl');
  const trainArgs = (out: string, steps: number, extra: string[] = []) =>
    [
      ['train', '--objective', 'sft', '--data', data, '--steps', String(steps), '--batch-size', '1'],
      ['--backend', 'cpu', '--checkpoint-every', '1', '--json', '--out', out, ...extra],
    ].flat();

  it('a second train on the same --out is refused naming the first; --resume A --out B and an --out holding --model are refused', async () => {
    writeFileSync(data, JSON.stringify({ prompt: 'Once upon a time ', response: 'there was a cat.' }) + '\n');
    const dir = join(tmp, 'locked');
    const first = spawn(process.execPath, [...CLI, ...trainArgs(dir, 400)], { cwd: ROOT });
    await new Promise<void>((res) => first.stderr.on('data', (b: Buffer) => b.toString().includes('"step"') && res()));
    const second = lab(trainArgs(dir, 3, ['--overwrite']));
    expect(second.status, second.stderr).toBe(2);
    expect(second.stderr).toContain(`is being written by another run (pid ${first.pid}: train`);
    const resume = lab(['train', '--resume', dir]);
    expect(resume.status, resume.stderr).toBe(2);
    expect(resume.stderr).toContain(`pid ${first.pid}`);
    first.kill('SIGTERM');
    await new Promise((res) => first.on('exit', res));
    const other = lab(['train', '--resume', dir, '--out', join(tmp, 'elsewhere')]);
    expect(other.status, other.stderr).toBe(2);
    expect(other.stderr).toMatch(/continues in its own folder .*--out .*elsewhere differs/);
    const own = lab(trainArgs(tmp, 1, ['--overwrite', '--model', model]));
    expect(own.status, own.stderr).toBe(2);
    expect(own.stderr).toMatch(/holds the input given as --(data|model)/);
  }, 180_000);
});

describe('train --resume by the model itself', () => {
  it('a run started elsewhere with a relative --model resumes, --model may be given again, a changed model is refused', () => {
    const work = join(tmp, 'elsewhere-start');
    mkdirSync(work);
    mkdirSync(join(work, 'm'));
    for (const f of readdirSync(model)) copyFileSync(join(model, f), join(work, 'm', f));
    writeFileSync(join(work, 'd.jsonl'), JSON.stringify({ prompt: 'Once upon a time ', response: 'a cat.' }) + '\n');
    const launcher = [resolve(ROOT, 'cli/launch.mjs'), resolve(ROOT, 'cli/lab.ts'), 'train'];
    const started = spawnSync(
      process.execPath,
      [
        ...launcher,
        '--model',
        'm',
        '--objective',
        'sft',
        '--data',
        'd.jsonl',
        '--steps',
        '2',
        '--backend',
        'cpu',
      ].concat(['--out', 'run']),
      { cwd: work, encoding: 'utf8', timeout: 120_000 },
    );
    expect(started.status, started.stderr).toBe(0);
    const run = join(work, 'run');
    const again = lab(['train', '--resume', run, '--steps', '3', '--model', join(work, 'm')]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain('resume: from step 2 of 3');
    const w = join(work, 'm', 'model.safetensors');
    const bytes = readFileSync(w);
    bytes[bytes.length - 4] ^= 1; // the lowest mantissa bit of the last weight: a different model, still finite
    writeFileSync(w, bytes);
    const changed = lab(['train', '--resume', run, '--steps', '4']);
    expect(changed.status, changed.stderr).toBe(1);
    expect(changed.stderr, changed.stderr).toMatch(
      /the model .*\/m is not the one the checkpoint trained \(model_fingerprint differs/,
    );
  }, 180_000);
});
