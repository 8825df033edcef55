/**
 * Sweep cases for every writer and every bounded input: vocab and experiment outputs (equal to, inside,
 * holding an input, through symlinks; existing output without --overwrite; system paths), train outputs
 * that hold the model, --resume into another folder, damaged checkpoints, non-regular and oversized data
 * files, invalid UTF-8 and lone surrogates, absurd recipe values and paths, absurd adapter scales, the
 * LoRA rank bound, and empty prompts. Signals through the launcher are driven by
 * tests/cli/signals-launcher.test.ts (a case here is one process with no signal).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Case, Fixtures } from './sweep-lib';
import { ROOT } from './sweep-lib';
import { bundledRecipe } from '../../src/lib/experiment/recipes';

export function buildWriterCases(fx: Fixtures): Case[] {
  const { p, out } = fx;
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);
  const o = (name: string) => join(out, name);
  const M = ['--model', p['m/stories.bin'], '--backend', 'cpu'];
  const links = o('links');
  mkdirSync(links, { recursive: true });
  const link = (name: string, target: string) => {
    const l = join(links, name);
    if (!existsSync(l)) symlinkSync(target, l);
    return l;
  };

  // ---- vocab --out
  const corpus = join(out, 'corpus.jsonl');
  writeFileSync(
    corpus,
    readFileSync(join(ROOT, 'public/data/instructions/ko_chatbot_300.jsonl'), 'utf8')
      .split('\n')
      .slice(0, 80)
      .join('\n') + '\n',
  );
  const vocab = (outPath: string, extra: string[] = []) => [
    'vocab',
    '--backend',
    'cpu',
    '--corpus',
    corpus,
    '--heldout',
    corpus,
    '--add',
    '8',
    '--init',
    'mean',
    '--out',
    outPath,
    ...extra,
  ];
  const vocabOut: [string, string, string[]][] = [
    ['out-equals-model', p['hf/good'], ['--model', p['hf/good']]],
    ['out-equals-model --overwrite', p['hf/good'], ['--model', p['hf/good'], '--overwrite']],
    ['out-symlink-to-model', link('to-hf', p['hf/good']), ['--model', p['hf/good'], '--overwrite']],
    ['out-symlink-slash', `${link('to-hf2', p['hf/good'])}/`, ['--model', p['hf/good'], '--overwrite']],
    ['out-inside-model', join(p['hf/good'], 'sub'), ['--model', p['hf/good']]],
    ['out-inside-model via symlink', join(link('to-hf3', p['hf/good']), 'x', 'y'), ['--model', p['hf/good']]],
    ['out-holds-model', join(p['hf/good'], '..'), ['--model', p['hf/good'], '--overwrite']],
    ['out-equals-corpus', corpus, []],
    ['out-holds-corpus', out, ['--overwrite']],
    ['out-empty', '', []],
    ['out-space', ' ', []],
    ['out-proc', '/proc/x', []],
    ['out-proc-self', '/proc/self/fd/1', []],
    ['out-sys', '/sys/clo', []],
    ['out-dev-null', '/dev/null', []],
    ['out-dev-shm-dev', '/dev/clo-x', []],
    ['out-root', '/', []],
    ['out-is-file', p['a-file'], []],
    ['out-under-file', join(p['a-file'], 'sub'), []],
    ['out-donor-equal', p['hf/good'], ['--donor', join(p['hf/good'], 'model.safetensors'), '--donor-vocab', corpus]],
  ];
  for (const [label, path, extra] of vocabOut)
    add({ name: `vocab/${label}`, args: vocab(path, extra), expect: 'error', timeoutMs: 60_000 });
  add({
    name: 'vocab/existing-model-no-overwrite',
    args: vocab(o('vocab-existing')),
    expect: 'error',
    outs: [o('vocab-existing')],
    setup: () => {
      rmSync(o('vocab-existing'), { recursive: true, force: true });
      cpSync(p['hf/good'], o('vocab-existing'), { recursive: true });
    },
    check: () => (readFileSync(join(o('vocab-existing'), 'config.json'), 'utf8').length > 0 ? null : 'data-loss'),
  });
  add({
    name: 'vocab/ok fresh',
    args: vocab(o('vocab-fresh')),
    expect: 'ok',
    outs: [o('vocab-fresh')],
    setup: () => rmSync(o('vocab-fresh'), { recursive: true, force: true }),
    timeoutMs: 120_000,
  });
  add({
    name: 'vocab/ok overwrite',
    args: vocab(o('vocab-over'), ['--overwrite']),
    expect: 'ok',
    outs: [o('vocab-over')],
    setup: () => {
      rmSync(o('vocab-over'), { recursive: true, force: true });
      cpSync(p['hf/good'], o('vocab-over'), { recursive: true });
    },
    timeoutMs: 120_000,
  });
  for (const [label, file] of [
    ['corpus /dev/zero', '/dev/zero'],
    ['corpus /dev/urandom', '/dev/urandom'],
    ['corpus folder', out],
    ['corpus fifo', 'FIFO'],
  ] as const)
    add({
      name: `vocab/${label}`,
      args: vocab(o('vocab-bad-in')).map((a) => (a === corpus ? (file === 'FIFO' ? o('fifo') : file) : a)),
      expect: 'error',
      setup: () => {
        if (!existsSync(o('fifo'))) execFileSync('mkfifo', [o('fifo')]);
      },
      timeoutMs: 30_000,
    });

  // ---- experiment --out and recipes
  const recipeFile = (name: string, edit: (r: Record<string, unknown>) => void) => {
    const r = JSON.parse(JSON.stringify(bundledRecipe('clo-vs-sft'))) as Record<string, unknown>;
    edit(r);
    const f = o(`recipes/${name}.json`);
    mkdirSync(o('recipes'), { recursive: true });
    writeFileSync(f, JSON.stringify(r));
    return f;
  };
  type Arm = { train?: Record<string, unknown>; data: Record<string, unknown> };
  const arms = (r: Record<string, unknown>) => r.arms as Arm[];
  const exp = (recipe: string, outPath: string | null, extra: string[] = []) => [
    'experiment',
    '--recipe',
    recipe,
    '--steps',
    '1',
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
    ...(outPath === null ? [] : ['--out', outPath]),
    ...extra,
  ];
  const badRecipes: [string, (r: Record<string, unknown>) => void][] = [
    ['lora.r 1000000', (r) => (arms(r)[0].train = { lora: { r: 1000000 } })],
    ['lora.r 4096 (above the hidden size)', (r) => (arms(r)[0].train = { lora: { r: 4096 } })],
    ['lora.r 1.5', (r) => (arms(r)[0].train = { lora: { r: 1.5 } })],
    ['lora.alpha 0', (r) => (arms(r)[0].train = { lora: { alpha: 0 } })],
    ['lora.alpha 1e30', (r) => (arms(r)[0].train = { lora: { alpha: 1e30 } })],
    ['lr 0', (r) => (arms(r)[0].train = { lr: 0 })],
    ['lr 5', (r) => (arms(r)[0].train = { lr: 5 })],
    ['clipNorm 0', (r) => (arms(r)[0].train = { clipNorm: 0 })],
    ['weightDecay 2', (r) => (arms(r)[0].train = { weightDecay: 2 })],
    ['budget.lr 0', (r) => ((r.budget as Record<string, unknown>).lr = 0)],
    ['budget.steps 1e12', (r) => ((r.budget as Record<string, unknown>).steps = 1e12)],
    ['budget.batchSize 1e9', (r) => ((r.budget as Record<string, unknown>).batchSize = 1e9)],
    ['budget.maxSeqLen 1e9', (r) => ((r.budget as Record<string, unknown>).maxSeqLen = 1e9)],
    ['data.file ../../..', (r) => (arms(r)[0].data.file = '../../../../../../etc/passwd')],
    ['data.file absolute', (r) => (arms(r)[0].data.file = '/etc/passwd')],
    ['data.file inner ..', (r) => (arms(r)[0].data.file = 'instructions/../../../package.json')],
    ['data.file backslash', (r) => (arms(r)[0].data.file = '..\\..\\etc\\passwd')],
    ['name ../../x', (r) => (r.name = '../../x')],
    ['name /tmp/x', (r) => (r.name = '/tmp/x')],
    ['name ..', (r) => (r.name = '..')],
    ['name a/b', (r) => (r.name = 'a/b')],
  ];
  for (const [label, edit] of badRecipes) {
    const f = recipeFile(label.replace(/[^a-z0-9]+/gi, '-'), edit);
    add({
      name: `experiment/recipe ${label}`,
      args: exp(f, label.startsWith('name') ? null : o('exp-bad')),
      expect: 'error',
      timeoutMs: 60_000,
      check: () =>
        existsSync(join(ROOT, 'experiments', 'x')) || existsSync('/tmp/x/report.md') ? 'accepted-bad' : null,
    });
  }
  add({ name: 'experiment/out-model-folder', args: exp('clo-vs-sft', p['hf/good']), expect: 'error' });
  add({ name: 'experiment/out-symlink-model', args: exp('clo-vs-sft', link('to-hf4', p['hf/good'])), expect: 'error' });
  add({ name: 'experiment/out-proc', args: exp('clo-vs-sft', '/proc/x'), expect: 'error' });
  add({ name: 'experiment/out-empty', args: exp('clo-vs-sft', ''), expect: 'error' });
  add({ name: 'experiment/out-dev-null', args: exp('clo-vs-sft', '/dev/null'), expect: 'error' });
  add({ name: 'experiment/out-is-file', args: exp('clo-vs-sft', p['a-file']), expect: 'error' });
  const okRecipe = recipeFile('ok', () => {});
  add({ name: 'experiment/out-holds-recipe', args: exp(okRecipe, o('recipes')), expect: 'error' });
  add({ name: 'experiment/out-equals-recipe', args: exp(okRecipe, okRecipe), expect: 'error' });
  add({ name: 'experiment/recipe /dev/zero', args: exp('/dev/zero', o('exp-z')), expect: 'error', timeoutMs: 30_000 });
  add({
    name: 'experiment/ok',
    args: exp('clo-vs-sft', o('exp-ok')),
    expect: 'ok',
    outs: [o('exp-ok')],
    setup: () => rmSync(o('exp-ok'), { recursive: true, force: true }),
    timeoutMs: 180_000,
  });

  // ---- train: outputs holding inputs, resume elsewhere, damaged checkpoints, ranks
  const trainArgs = (data: string, outPath: string, extra: string[] = []) => [
    'train',
    ...M,
    '--objective',
    'sft',
    '--data',
    data,
    '--steps',
    '1',
    '--batch-size',
    '1',
    '--max-seq-len',
    '32',
    '--out',
    outPath,
    ...extra,
  ];
  add({
    name: 'train/overwrite-out-holds-model',
    args: ['train', '--model', o('own/model.bin'), '--tokenizer', o('own/tok.bin'), '--backend', 'cpu'].concat([
      '--objective',
      'sft',
      '--data',
      p['d/sft.jsonl'],
      '--steps',
      '1',
      '--out',
      o('own'),
      '--overwrite',
    ]),
    expect: 'error',
    setup: () => {
      mkdirSync(o('own'), { recursive: true });
      cpSync(p['m/stories.bin'], o('own/model.bin'));
      cpSync(p['m/tokenizer.bin'], o('own/tok.bin'));
    },
    check: () =>
      readFileSync(o('own/model.bin')).length === readFileSync(p['m/stories.bin']).length ? null : 'data-loss',
  });
  add({ name: 'train/out-holds-data', args: trainArgs(p['d/sft.jsonl'], fx.inputs, ['--overwrite']), expect: 'error' });
  add({
    name: 'train/out-inside-model-dir',
    args: ['train', '--model', p['hf/good'], '--backend', 'cpu', '--objective', 'sft'].concat([
      '--data',
      p['d/sft.jsonl'],
      '--steps',
      '1',
      '--out',
      join(p['hf/good'], 'run'),
    ]),
    expect: 'error',
  });
  add({
    name: 'train/out-symlink-data',
    args: trainArgs(p['d/sft.jsonl'], link('to-data', p['d/sft.jsonl'])),
    expect: 'error',
  });
  add({
    name: 'train/lora-rank 1000',
    args: trainArgs(p['d/sft.jsonl'], o('r1000'), ['--lora-rank', '1000']),
    expect: 'error',
  });
  add({
    name: 'train/lora-rank 65',
    args: trainArgs(p['d/sft.jsonl'], o('r65'), ['--lora-rank', '65']),
    expect: 'error',
  });
  add({
    name: 'train/lora-rank 64',
    args: trainArgs(p['d/sft.jsonl'], o('r64'), ['--lora-rank', '64']),
    expect: 'ok',
    outs: [o('r64')],
    setup: () => rmSync(o('r64'), { recursive: true, force: true }),
    timeoutMs: 120_000,
  });
  const runDir = o('resumable');
  /** a finished 2-step run in dir (each case its own: cases run side by side) */
  const makeRun = (dir = runDir) => {
    if (existsSync(join(dir, 'checkpoint.safetensors'))) return;
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'cli/lab.ts', ...trainArgs(p['d/sft.jsonl'], dir).map((a) => (a === '1' ? '2' : a))],
      { cwd: ROOT, encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(r.stderr);
  };
  add({
    name: 'train/resume-out-elsewhere',
    args: ['train', '--resume', runDir, '--steps', '3', '--out', o('elsewhere')],
    expect: 'error',
    setup: makeRun,
  });
  add({
    name: 'train/resume-out-same',
    args: ['train', '--resume', o('resumable-same'), '--steps', '3', '--out', o('resumable-same')],
    expect: 'ok',
    setup: () => {
      rmSync(o('resumable-same'), { recursive: true, force: true });
      makeRun(o('resumable-same'));
    },
    timeoutMs: 120_000,
  });
  const damaged = (label: string, edit: (b: Buffer) => void) =>
    add({
      name: `train/resume-${label}`,
      args: ['train', '--resume', o(`ck-${label}`), '--steps', '4'],
      expect: 'error',
      setup: () => {
        rmSync(o(`ck-${label}`), { recursive: true, force: true });
        makeRun(o(`ck-${label}`));
        const f = join(o(`ck-${label}`), 'checkpoint.safetensors');
        const b = readFileSync(f);
        edit(b);
        writeFileSync(f, b);
      },
    });
  damaged('bitflip-last', (b) => (b[b.length - 2] ^= 0x10));
  damaged('bitflip-middle', (b) => (b[Math.floor(b.length * 0.7)] ^= 0x01));
  damaged('truncated', (b) => b.fill(0, b.length - 100));
  damaged('step-digit', (b) => {
    const s = b.toString('latin1');
    const i = s.indexOf('\\"step\\":');
    if (i >= 0) b[i + 9] = 'x'.charCodeAt(0);
  });

  // ---- data files: devices, pipes, size cap, encodings
  const bad = (name: string, bytes: Buffer | string) => {
    const f = o(`data/${name}`);
    mkdirSync(o('data'), { recursive: true });
    writeFileSync(f, bytes);
    return f;
  };
  const good = JSON.stringify({ prompt: 'Once upon a time ', response: 'there was a cat.' });
  const dataCases: [string, string, 'ok' | 'error', Record<string, string>?][] = [
    ['/dev/zero', '/dev/zero', 'error'],
    ['/dev/urandom', '/dev/urandom', 'error'],
    ['/dev/null', '/dev/null', 'error'],
    ['/dev/stdin', '/dev/stdin', 'error'],
    ['/proc/self/environ', '/proc/self/environ', 'error'],
    ['symlink to /dev/zero', link('zero', '/dev/zero'), 'error'],
    ['fifo', 'FIFO', 'error'],
    ['size cap', bad('cap.jsonl', `${good}\n`.repeat(200)), 'error', { CLO_MAX_INPUT_MB: '0.001' }],
    [
      'invalid utf-8 line 2',
      bad(
        'u8.jsonl',
        Buffer.concat([
          Buffer.from(`${good}\n{"prompt":"`),
          Buffer.from([0xc3, 0x28]),
          Buffer.from('","response":"x"}\n'),
        ]),
      ),
      'error',
    ],
    [
      'overlong utf-8',
      bad(
        'overlong.jsonl',
        Buffer.concat([
          Buffer.from(`${good}\n{"prompt":"`),
          Buffer.from([0xc0, 0xaf]),
          Buffer.from('","response":"x"}\n'),
        ]),
      ),
      'error',
    ],
    [
      'cesu surrogate bytes',
      bad(
        'cesu.jsonl',
        Buffer.concat([
          Buffer.from(`${good}\n{"prompt":"`),
          Buffer.from([0xed, 0xa0, 0x80]),
          Buffer.from('","response":"x"}\n'),
        ]),
      ),
      'error',
    ],
    ['lone high surrogate escape', bad('hi.jsonl', `${good}\n{"prompt":"a\\ud800","response":"b"}\n`), 'error'],
    ['lone low surrogate escape', bad('lo.jsonl', `${good}\n{"prompt":"a\\udc00","response":"b"}\n`), 'error'],
    ['reversed pair', bad('rev.jsonl', `${good}\n{"prompt":"a\\udc00\\ud800","response":"b"}\n`), 'error'],
    ['lone surrogate json array', bad('lone.json', `[${good},{"prompt":"a\\ud83d","response":"b"}]`), 'error'],
    ['backslash-u text in csv', bad('lone.csv', 'prompt,response\n"a\\ud800","b"\n'), 'ok'],
    ['valid pair escape', bad('pair.jsonl', `${good}\n{"prompt":"a\\ud83d\\ude00","response":"b"}\n`), 'ok'],
    ['escaped backslash u', bad('bs.jsonl', `${good}\n{"prompt":"a\\\\ud800","response":"b"}\n`), 'ok'],
    [
      'invalid utf-8 pt text',
      bad('pt.txt', Buffer.concat([Buffer.from('Once upon a time\n'), Buffer.from([0xff]), Buffer.from('\n')])),
      'error',
    ],
  ];
  for (const [label, file, expect, env] of dataCases)
    add({
      name: `train/data ${label}`,
      args: trainArgs(file === 'FIFO' ? o('fifo') : file, o(`data-run-${label.replace(/[^a-z0-9]+/gi, '-')}`)).map(
        (a, i, arr) => (label.startsWith('invalid utf-8 pt') && arr[i - 1] === '--objective' ? 'pt' : a),
      ),
      expect,
      env,
      setup: () => {
        if (!existsSync(o('fifo'))) execFileSync('mkfifo', [o('fifo')]);
        rmSync(o(`data-run-${label.replace(/[^a-z0-9]+/gi, '-')}`), { recursive: true, force: true });
      },
      timeoutMs: 60_000,
    });

  // ---- adapters with absurd scales, generate with empty prompts
  const adapter = (name: string, patch: Record<string, unknown>) => {
    const d = o(`adapters/${name}`);
    rmSync(d, { recursive: true, force: true });
    cpSync(p['a/good'], d, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(d, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(d, 'adapter_config.json'), JSON.stringify({ ...cfg, ...patch }));
    return d;
  };
  for (const [label, patch] of [
    ['lora_alpha 1e30', { lora_alpha: 1e30 }],
    ['lora_alpha 1e300', { lora_alpha: 1e300 }],
    ['lora_alpha 1e7', { lora_alpha: 1e7 }],
    ['lora_alpha -1e30', { lora_alpha: -1e30 }],
    ['rslora alpha 1e30', { lora_alpha: 1e30, use_rslora: true }],
    ['alpha_pattern 1e30', { alpha_pattern: { q_proj: 1e30 } }],
  ] as const) {
    const d = adapter(label.replace(/[^a-z0-9]+/gi, '-'), patch);
    add({
      name: `adapter/score ${label}`,
      args: ['score', ...M, '--adapter', d, '--prompt', 'Once', '--response', ' upon'],
      expect: 'error',
    });
    add({
      name: `adapter/export-merged ${label}`,
      args: [
        'export',
        ...M,
        '--adapter',
        d,
        '--format',
        'merged',
        '--out',
        o(`merged-${label.replace(/[^a-z0-9]+/gi, '-')}`),
      ],
      expect: 'error',
    });
  }
  add({
    name: 'generate/empty prompt stories (BOS)',
    args: ['generate', ...M, '--prompt', '', '--max-new-tokens', '3'],
    expect: 'ok',
  });
  add({
    name: 'generate/empty prompt hf',
    args: ['generate', '--model', p['hf/good'], '--backend', 'cpu', '--prompt', '', '--max-new-tokens', '3'],
    expect: 'any',
    timeoutMs: 60_000,
  });
  add({
    name: 'generate/empty prompt hf wasm',
    args: ['generate', '--model', p['hf/good'], '--backend', 'wasm', '--prompt', '', '--max-new-tokens', '3'],
    expect: 'any',
    timeoutMs: 60_000,
  });
  add({
    name: 'generate/long prompt leaves little room',
    args: ['generate', ...M, '--prompt', 'Once upon a time '.repeat(150), '--max-new-tokens', '50'],
    expect: 'ok',
    check: (r) => (/leaving room for/.test(r.stderr) ? null : 'accepted-bad'),
    timeoutMs: 60_000,
  });
  return cases;
}
