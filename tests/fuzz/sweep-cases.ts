/**
 * The sweep's cases (about 300): bad flags for every command, broken model files, safetensors header
 * attacks, broken Hugging Face configs, broken adapters, bad data files, hostile output paths, and the
 * data-loss scenarios. `FAST` names the subset the unit test runs.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Case, Fixtures, RunResult } from './sweep-lib';
import { buildWriterCases } from './sweep-cases-writers';

export const FAST = [
  'build-pairs/out-equals-data',
  'build-pairs/translator-down-keeps-existing-out',
  'build-pairs/cache-folder-missing',
  'export/merged-out-equals-model',
  'train/out-proc',
  'train/out-existing-run',
  'train/lr-1e30',
  'flags/info --json=no',
  'flags/info --__proto__',
  'flags/generate duplicate --seed',
  'generate/prompt-100k',
  'adapter/generate alpha0',
  'adapter/generate for-hf',
  'model/hf layers3',
];

export function buildCases(fx: Fixtures): Case[] {
  const { p, out, translatorUrl } = fx;
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);
  const M = ['--model', p['m/stories.bin'], '--backend', 'cpu'];
  const o = (name: string) => join(out, name);
  const fresh = (dir: string) => () => rmSync(dir, { recursive: true, force: true });

  // ---- flags: every command, every numeric flag, bad spellings of numbers, ranges, booleans, prototype names, duplicates
  const numeric: Record<string, [string[], string[]]> = {
    generate: [
      [...M, '--prompt', 'Hi', '--max-new-tokens', '2'],
      ['max-new-tokens', 'temperature', 'top-p', 'seed'],
    ],
    train: [
      [...M, '--objective', 'sft', '--data', p['d/sft.jsonl'], '--out', o('flag-train')],
      [
        'steps',
        'batch-size',
        'grad-accum',
        'lr',
        'warmup-steps',
        'weight-decay',
        'clip-norm',
        'lora-rank',
        'lora-alpha',
        'lora-dropout',
        'beta',
        'lambda',
        'max-seq-len',
        'seed',
      ],
    ],
    eval: [
      [...M, '--tasks', 'kobest_copa', '--limit', '1'],
      ['max-new-tokens', 'shots', 'limit', 'seed', 'batch-size'],
    ],
    'build-pairs': [
      [
        '--data',
        p['d/alpaca.jsonl'],
        '--translator',
        `parallel:${p['d/parallel.jsonl']}`,
        '--out',
        o('flag-pairs.jsonl'),
      ],
      ['limit', 'concurrency', 'timeout-ms', 'retries'],
    ],
  };
  const badNumbers = ['0x2', '1e', 'abc', 'NaN', 'Infinity', '1e400', '-1', '0', '', '2.5.1'];
  let rot = 0;
  for (const [cmd, [base, flags]] of Object.entries(numeric)) {
    for (const f of flags) {
      // three bad spellings per flag, rotating, so every spelling meets several flags
      const picks = [0, 1, 2].map((k) => badNumbers[(rot + k) % badNumbers.length]);
      rot += 3;
      for (const v of picks) {
        // values that are legal for some flags
        const legal =
          (v === '0' &&
            ['temperature', 'seed', 'warmup-steps', 'weight-decay', 'lora-dropout', 'shots', 'retries'].includes(f)) ||
          (v === '-1' && false);
        if (legal) continue;
        const args = [cmd, ...base.filter((_, i, a) => a[i - 1] !== `--${f}` && a[i] !== `--${f}`), `--${f}`, v];
        add({
          name: `flags/${cmd} --${f} ${JSON.stringify(v)}`,
          args,
          expect: 'error',
          outs: cmd === 'train' ? [o('flag-train')] : cmd === 'build-pairs' ? [o('flag-pairs.jsonl')] : [],
          timeoutMs: 60_000,
        });
      }
    }
  }
  const ranges: [string, string[], string][] = [
    ['generate', ['--top-p', '2'], 'top-p 2'],
    ['generate', ['--temperature', '-1'], 'temperature -1'],
    ['generate', ['--top-p', '0'], 'top-p 0'],
    ['train', ['--lr', '1e30'], 'lr 1e30'],
    ['train', ['--clip-norm', '0'], 'clip-norm 0'],
    ['train', ['--weight-decay', '-0.1'], 'weight-decay negative'],
    ['train', ['--lora-dropout', '1'], 'dropout 1'],
    ['train', ['--beta', '0'], 'beta 0'],
    ['train', ['--lambda', '-1'], 'lambda negative'],
    ['train', ['--warmup-steps', '10', '--steps', '2'], 'warmup longer than run'],
    ['eval', ['--shots', '1000'], 'shots 1000'],
  ];
  for (const [cmd, extra, label] of ranges) {
    const base = numeric[cmd][0];
    add({
      name: `flags/${cmd} ${label}`,
      args: [cmd, ...base, ...extra],
      expect: 'error',
      outs: cmd === 'train' ? [o('flag-train')] : [],
      timeoutMs: 60_000,
    });
  }
  const cmds = ['info', 'generate', 'score', 'train', 'eval', 'build-pairs', 'export'];
  for (const cmd of cmds) {
    for (const f of ['__proto__', 'toString', 'constructor'])
      add({ name: `flags/${cmd} --${f}`, args: [cmd, `--${f}`, '1'], expect: 'error' });
    add({ name: `flags/${cmd} --json=maybe`, args: [cmd, '--json=maybe'], expect: 'error' });
    add({ name: `flags/${cmd} positional`, args: [cmd, 'stray'], expect: 'error' });
    add({ name: `flags/${cmd} missing value`, args: [cmd, '--model'], expect: 'error' });
    add({ name: `flags/${cmd} --help`, args: [cmd, '--help'], expect: 'ok' });
  }
  add({
    name: 'flags/info --json=no',
    args: ['info', ...M, '--json=no'],
    expect: 'ok',
    check: (r) => (r.stdout.trim().startsWith('{') ? 'accepted-bad' : null),
  });
  add({
    name: 'flags/generate duplicate --seed',
    args: ['generate', ...M, '--seed', '1', '--seed', '2'],
    expect: 'error',
  });
  add({
    name: 'flags/train duplicate --out',
    args: ['train', ...M, '--objective', 'sft', '--data', p['d/sft.jsonl'], '--out', o('dup1'), '--out', o('dup2')],
    expect: 'error',
    outs: [o('dup1'), o('dup2')],
  });
  add({ name: 'flags/unknown command', args: ['frobnicate'], expect: 'error' });
  add({ name: 'flags/no command', args: [], expect: 'error' });

  // ---- model files
  const modelCases: [string, string[]][] = [
    ['truncated', ['--model', p['bad/truncated.bin'], '--tokenizer', p['m/tok512.bin']]],
    ['empty', ['--model', p['bad/empty.bin'], '--tokenizer', p['m/tok512.bin']]],
    ['garbage', ['--model', p['bad/garbage.bin'], '--tokenizer', p['m/tok512.bin']]],
    ['negative layers', ['--model', p['bad/neg-layers.bin'], '--tokenizer', p['m/tok512.bin']]],
    ['zero dim', ['--model', p['bad/zero-dim.bin'], '--tokenizer', p['m/tok512.bin']]],
    ['huge seq', ['--model', p['bad/huge-seq.bin'], '--tokenizer', p['m/tok512.bin']]],
    ['tokenizer truncated', ['--model', p['m/stories.bin'], '--tokenizer', p['bad/tok-truncated.bin']]],
    ['tokenizer empty', ['--model', p['m/stories.bin'], '--tokenizer', p['bad/tok-empty.bin']]],
    ['tokenizer missing', ['--model', p['m/stories.bin'], '--tokenizer', join(fx.inputs, 'nope.bin')]],
    ['missing', ['--model', join(fx.inputs, 'nope')]],
    ['a folder without config', ['--model', join(fx.inputs, 'd')]],
  ];
  for (const k of Object.keys(p).filter((k) => k.startsWith('hf/') && k !== 'hf/good'))
    modelCases.push([`hf ${k.slice(3)}`, ['--model', p[k]]]);
  const modelOk = new Set(['hf st-huge-weight', 'hf vocab-small']);
  for (const [label, margs] of modelCases) {
    // every broken model through info; the llama2.c ones also through generate and score
    for (const cmd of (label.startsWith('hf ') ? ['info'] : ['info', 'generate', 'score']) as (
      'info' | 'generate' | 'score'
    )[]) {
      const extra =
        cmd === 'generate'
          ? ['--prompt', 'a', '--max-new-tokens', '2']
          : cmd === 'score'
            ? ['--prompt', 'a', '--response', ' b']
            : [];
      add({
        name: `model/${cmd} ${label}`,
        args: [cmd, ...margs, '--backend', 'cpu', ...extra],
        expect: modelOk.has(label) ? 'any' : 'error',
        timeoutMs: 60_000,
      });
    }
  }
  add({ name: 'model/hf layers3', args: ['info', '--model', p['hf/layers3'], '--backend', 'cpu'], expect: 'error' });
  add({ name: 'model/hf good', args: ['info', '--model', p['hf/good'], '--backend', 'cpu', '--json'], expect: 'ok' });
  add({
    name: 'model/stories bin auto tokenizer',
    args: ['info', '--model', p['m/stories.bin'], '--backend', 'cpu'],
    expect: 'ok',
  });

  // ---- adapters
  // 'huge' (one weight 1e30) is finite but its update leaves any sane range: refused on load
  const adapterOk = new Set(['good', 'other-base']);
  for (const k of Object.keys(p).filter((k) => k.startsWith('a/'))) {
    const label = k.slice(2);
    add({
      name: `adapter/generate ${label}`,
      args: ['generate', ...M, '--adapter', p[k], '--prompt', 'Once', '--max-new-tokens', '3'],
      expect: adapterOk.has(label) ? 'ok' : 'error',
      timeoutMs: 60_000,
    });
    if (['good', 'alpha0', 'alpha-str', 'nan', 'wrong-dims', 'for-hf', 'targets-bogus', 'r-wrong'].includes(label))
      add({
        name: `adapter/score ${label}`,
        args: ['score', ...M, '--adapter', p[k], '--prompt', 'Once', '--response', ' upon'],
        expect: adapterOk.has(label) ? 'ok' : 'error',
        timeoutMs: 60_000,
      });
    if (
      [
        'good',
        'alpha0',
        'alpha-str',
        'nan',
        'inf',
        'wrong-dims',
        'for-hf',
        'layer-past',
        'huge',
        'other-base',
      ].includes(label)
    )
      add({
        name: `adapter/export-peft ${label}`,
        args: ['export', ...M, '--adapter', p[k], '--format', 'peft', '--out', o(`exp-peft-${label}`)],
        expect: adapterOk.has(label) ? 'ok' : 'error',
        outs: [o(`exp-peft-${label}`)],
        setup: fresh(o(`exp-peft-${label}`)),
        timeoutMs: 60_000,
      });
  }
  add({
    name: 'adapter/missing folder',
    args: ['generate', ...M, '--adapter', join(fx.inputs, 'nope'), '--prompt', 'a'],
    expect: 'error',
  });
  add({ name: 'adapter/a file', args: ['generate', ...M, '--adapter', p['a-file'], '--prompt', 'a'], expect: 'error' });
  add({
    name: 'adapter/other-base warns',
    args: ['score', ...M, '--adapter', p['a/other-base'], '--prompt', 'a', '--response', ' b'],
    expect: 'ok',
    check: (r) => (/trained on "meta-llama\/Llama-2-7b-hf"/.test(r.stderr) ? null : 'accepted-bad'),
  });

  // ---- data files for train (1 step, tiny batch)
  const trainArgs = (data: string, objective: string, outName: string, extra: string[] = []) => [
    'train',
    ...M,
    '--objective',
    objective,
    '--data',
    data,
    '--steps',
    '1',
    '--batch-size',
    '1',
    '--max-seq-len',
    '32',
    '--out',
    o(outName),
    ...extra,
  ];
  const dataCases: [string, string, 'ok' | 'error' | 'any'][] = [
    ['empty.jsonl', 'sft', 'error'],
    ['blank-lines.jsonl', 'sft', 'error'],
    ['broken.jsonl', 'sft', 'error'],
    ['wrong-shape.jsonl', 'sft', 'error'],
    ['object.json', 'sft', 'error'],
    ['bad.csv', 'sft', 'error'],
    ['binary.jsonl', 'sft', 'error'],
    ['nulls.jsonl', 'sft', 'error'],
    ['deep.json', 'sft', 'error'],
    ['proto.jsonl', 'sft', 'any'],
    ['bom.jsonl', 'sft', 'any'],
    ['array.json', 'sft', 'ok'],
    ['rows.csv', 'sft', 'ok'],
    ['sft.jsonl', 'dpo', 'error'],
    ['sft.jsonl', 'clo', 'error'],
    ['pref.jsonl', 'dpo', 'ok'],
    ['clo.jsonl', 'clo', 'ok'],
    ['huge-row.jsonl', 'sft', 'ok'],
  ];
  for (const [file, obj, expect] of dataCases) {
    const name = `data-${file}-${obj}`;
    add({
      name: `train/data ${file} ${obj}`,
      args: trainArgs(p[`d/${file}`], obj, name),
      expect,
      outs: [o(name)],
      setup: fresh(o(name)),
      timeoutMs: 120_000,
    });
  }
  add({
    name: 'train/data missing',
    args: trainArgs(join(fx.inputs, 'nope.jsonl'), 'sft', 'x-missing'),
    expect: 'error',
    outs: [o('x-missing')],
  });
  add({
    name: 'train/data is a folder',
    args: trainArgs(join(fx.inputs, 'd'), 'sft', 'x-dir'),
    expect: 'error',
    outs: [o('x-dir')],
  });
  add({
    name: 'train/skip-bad-rows',
    args: trainArgs(p['d/broken.jsonl'], 'sft', 'skip-bad', ['--skip-bad-rows']),
    expect: 'ok',
    outs: [o('skip-bad')],
    setup: fresh(o('skip-bad')),
    timeoutMs: 120_000,
  });

  // ---- output paths: train
  const outCases: [string, string, 'ok' | 'error'][] = [
    ['out-proc', '/proc/x', 'error'],
    ['out-sys', '/sys/clo', 'error'],
    ['out-dev-null', '/dev/null', 'error'],
    ['out-empty', '', 'error'],
    ['out-space', ' ', 'error'],
    ['out-equals-data', p['d/sft.jsonl'], 'error'],
    ['out-equals-model', p['m/stories.bin'], 'error'],
    ['out-under-file', join(p['a-file'], 'sub'), 'error'],
    ['out-is-file', p['a-file'], 'error'],
    ['out-existing-run', p['existing-run'], 'error'],
    ['out-root', '/', 'error'],
  ];
  for (const [label, path, expect] of outCases)
    add({
      name: `train/${label}`,
      args: trainArgs(p['d/sft.jsonl'], 'sft', 'unused').map((a) => (a === o('unused') ? path : a)),
      expect,
      timeoutMs: 60_000,
    });
  add({
    name: 'train/out-nested-new',
    args: trainArgs(p['d/sft.jsonl'], 'sft', 'new/nested/run'),
    expect: 'ok',
    outs: [o('new')],
    setup: fresh(o('new')),
    timeoutMs: 120_000,
  });
  add({
    name: 'train/overwrite-existing-run',
    args: trainArgs(p['d/sft.jsonl'], 'sft', 'copy-run', ['--overwrite']),
    expect: 'ok',
    outs: [o('copy-run')],
    setup: () => cpSync(p['existing-run'], o('copy-run'), { recursive: true }),
    check: (r: RunResult) =>
      JSON.parse(readFileSync(o('copy-run/run.json'), 'utf8')).old ? 'corrupt-write' : r.code === 0 ? null : null,
    timeoutMs: 120_000,
  });
  add({
    name: 'train/lr-1e30',
    args: trainArgs(p['d/sft.jsonl'], 'sft', 'lr30', ['--lr', '1e30']),
    expect: 'error',
    outs: [o('lr30')],
  });
  add({
    name: 'train/lora-alpha-0',
    args: trainArgs(p['d/sft.jsonl'], 'sft', 'alpha0', ['--lora-alpha', '0']),
    expect: 'error',
    outs: [o('alpha0')],
  });
  add({
    name: 'train/batch-2000-cpu',
    args: trainArgs(p['d/sft.jsonl'], 'sft', 'b2000', ['--batch-size', '2000', '--max-seq-len', '512']).filter(
      (a, i, arr) =>
        !(a === '1' && arr[i - 1] === '--batch-size') &&
        !(a === '--batch-size' && arr[i + 1] === '1') &&
        !(a === '32' && arr[i - 1] === '--max-seq-len') &&
        !(a === '--max-seq-len' && arr[i + 1] === '32'),
    ),
    expect: 'error',
    outs: [o('b2000')],
    timeoutMs: 60_000,
  });
  add({
    name: 'train/max-seq-len-clamped-and-recorded',
    args: trainArgs(p['d/sft.jsonl'], 'sft', 'msl', []).map((a, i, arr) =>
      arr[i - 1] === '--max-seq-len' ? '100000' : a,
    ),
    expect: 'ok',
    outs: [o('msl')],
    setup: fresh(o('msl')),
    check: (r) =>
      /--max-seq-len 100000 lowered to 512/.test(r.stderr) &&
      JSON.parse(readFileSync(o('msl/run.json'), 'utf8')).config.maxSeqLen === 512
        ? null
        : 'accepted-bad',
    timeoutMs: 120_000,
  });
  for (const obj of ['sft', 'dpo', 'orpo', 'clo']) {
    const data = obj === 'sft' ? p['d/sft.jsonl'] : obj === 'clo' ? p['d/clo.jsonl'] : p['d/pref.jsonl'];
    add({
      name: `train/ok ${obj}`,
      args: trainArgs(data, obj, `ok-${obj}`),
      expect: 'ok',
      outs: [o(`ok-${obj}`)],
      setup: fresh(o(`ok-${obj}`)),
      timeoutMs: 120_000,
    });
  }

  // ---- build-pairs
  const bp = (extra: string[]) => ['build-pairs', ...extra];
  add({
    name: 'build-pairs/out-equals-data',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      `libretranslate:http://127.0.0.1:1`,
      '--out',
      p['d/alpaca.jsonl'],
      '--retries',
      '0',
    ]),
    expect: 'error',
  });
  add({
    name: 'build-pairs/out-equals-translator-file',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      `parallel:${p['d/parallel.jsonl']}`,
      '--out',
      p['d/parallel.jsonl'],
    ]),
    expect: 'error',
  });
  add({
    name: 'build-pairs/cache-equals-data',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      `libretranslate:${translatorUrl}`,
      '--out',
      o('bp-c.jsonl'),
      '--cache',
      p['d/alpaca.jsonl'],
    ]),
    expect: 'error',
    outs: [o('bp-c.jsonl')],
  });
  add({
    name: 'build-pairs/translator-down-keeps-existing-out',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      'libretranslate:http://127.0.0.1:1',
      '--out',
      o('keep.jsonl'),
      '--retries',
      '0',
      '--timeout-ms',
      '2000',
    ]),
    expect: 'error',
    setup: () => writeFileSync(o('keep.jsonl'), readFileSync(p['existing-pairs.jsonl'])),
    check: () =>
      readFileSync(o('keep.jsonl'), 'utf8') === readFileSync(p['existing-pairs.jsonl'], 'utf8') ? null : 'data-loss',
  });
  add({
    name: 'build-pairs/cache-folder-missing',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      `libretranslate:${translatorUrl}`,
      '--out',
      o('not-yet/dir/pairs.jsonl'),
      '--concurrency',
      '1',
    ]),
    expect: 'ok',
    outs: [o('not-yet')],
    setup: fresh(o('not-yet')),
    check: () =>
      existsSync(o('not-yet/dir/pairs.jsonl.cache.json')) && existsSync(o('not-yet/dir/pairs.jsonl'))
        ? null
        : 'corrupt-write',
  });
  add({
    name: 'build-pairs/partial-failure-keeps-work',
    args: bp([
      '--data',
      p['d/alpaca-fail.jsonl'],
      '--translator',
      `libretranslate:${translatorUrl}`,
      '--out',
      o('part/pairs.jsonl'),
      '--concurrency',
      '1',
      '--retries',
      '0',
    ]),
    expect: 'error',
    setup: fresh(o('part')),
    check: () =>
      existsSync(o('part/pairs.jsonl')) && existsSync(o('part/pairs.jsonl.cache.json')) ? null : 'data-loss',
  });
  add({
    name: 'build-pairs/out-proc',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      `parallel:${p['d/parallel.jsonl']}`,
      '--out',
      '/proc/x.jsonl',
    ]),
    expect: 'error',
  });
  add({
    name: 'build-pairs/out-empty',
    args: bp(['--data', p['d/alpaca.jsonl'], '--translator', `parallel:${p['d/parallel.jsonl']}`, '--out', '']),
    expect: 'error',
  });
  add({
    name: 'build-pairs/out-is-folder',
    args: bp(['--data', p['d/alpaca.jsonl'], '--translator', `parallel:${p['d/parallel.jsonl']}`, '--out', fx.inputs]),
    expect: 'error',
  });
  add({
    name: 'build-pairs/out-under-file',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      `parallel:${p['d/parallel.jsonl']}`,
      '--out',
      join(p['a-file'], 'x.jsonl'),
    ]),
    expect: 'error',
  });
  add({
    name: 'build-pairs/cache-bad-json',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      `libretranslate:${translatorUrl}`,
      '--out',
      o('cb.jsonl'),
      '--cache',
      p['d/cache-bad.json'],
    ]),
    expect: 'error',
    outs: [o('cb.jsonl')],
  });
  add({
    name: 'build-pairs/cache-array',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      `libretranslate:${translatorUrl}`,
      '--out',
      o('ca.jsonl'),
      '--cache',
      p['d/cache-array.json'],
    ]),
    expect: 'error',
    outs: [o('ca.jsonl')],
  });
  add({
    name: 'build-pairs/parallel ok',
    args: bp([
      '--data',
      p['d/alpaca.jsonl'],
      '--translator',
      `parallel:${p['d/parallel.jsonl']}`,
      '--out',
      o('par.jsonl'),
    ]),
    expect: 'ok',
    outs: [o('par.jsonl')],
  });
  add({
    name: 'build-pairs/zero-pairs-keeps-existing-out',
    args: bp([
      '--data',
      p['d/sft.jsonl'],
      '--translator',
      `parallel:${p['d/parallel.jsonl']}`,
      '--out',
      o('zero.jsonl'),
    ]),
    expect: 'error',
    setup: () => writeFileSync(o('zero.jsonl'), readFileSync(p['existing-pairs.jsonl'])),
    check: () =>
      readFileSync(o('zero.jsonl'), 'utf8') === readFileSync(p['existing-pairs.jsonl'], 'utf8') ? null : 'data-loss',
  });
  for (const [label, data] of [
    ['empty', p['d/empty.jsonl']],
    ['broken', p['d/broken.jsonl']],
    ['binary', p['d/binary.jsonl']],
    ['missing', join(fx.inputs, 'nope.jsonl')],
    ['deep', p['d/deep.json']],
  ] as const) {
    add({
      name: `build-pairs/data ${label}`,
      args: bp(['--data', data, '--translator', `parallel:${p['d/parallel.jsonl']}`, '--out', o(`bpd-${label}.jsonl`)]),
      expect: 'error',
      outs: [o(`bpd-${label}.jsonl`)],
    });
  }
  for (const t of [
    'deepl:x',
    'libretranslate:',
    'parallel:',
    'libretranslate:not a url',
    `parallel:${join(fx.inputs, 'nope')}`,
    `parallel:${p['d/binary.jsonl']}`,
  ]) {
    add({
      name: `build-pairs/translator ${t.slice(0, 40)}`,
      args: bp(['--data', p['d/alpaca.jsonl'], '--translator', t, '--out', o('bpt.jsonl'), '--retries', '0']),
      expect: 'error',
      outs: [o('bpt.jsonl')],
    });
  }

  // ---- export
  const ex = (extra: string[]) => ['export', '--backend', 'cpu', ...extra];
  add({
    name: 'export/merged-out-equals-model',
    args: ex(['--model', p['hf/good'], '--format', 'merged', '--out', p['hf/good']]),
    expect: 'error',
  });
  add({
    name: 'export/merged-out-equals-model-overwrite',
    args: ex(['--model', p['hf/good'], '--format', 'merged', '--out', p['hf/good'], '--overwrite']),
    expect: 'error',
  });
  add({
    name: 'export/peft-out-equals-adapter',
    args: ex([...M.slice(0, 2), '--adapter', p['a/good'], '--format', 'peft', '--out', p['a/good']]),
    expect: 'error',
  });
  add({
    name: 'export/out-existing-run',
    args: ex([...M.slice(0, 2), '--adapter', p['a/good'], '--format', 'peft', '--out', p['existing-run']]),
    expect: 'error',
  });
  add({
    name: 'export/out-proc',
    args: ex([...M.slice(0, 2), '--format', 'merged', '--out', '/proc/clo']),
    expect: 'error',
  });
  add({ name: 'export/out-empty', args: ex([...M.slice(0, 2), '--format', 'merged', '--out', '']), expect: 'error' });
  add({
    name: 'export/out-is-file',
    args: ex([...M.slice(0, 2), '--format', 'merged', '--out', p['a-file']]),
    expect: 'error',
  });
  add({
    name: 'export/merged F16 huge weight',
    args: ex(['--model', p['hf/st-huge-weight'], '--format', 'merged', '--dtype', 'F16', '--out', o('f16')]),
    expect: 'error',
    outs: [o('f16')],
    setup: fresh(o('f16')),
  });
  add({
    name: 'export/merged BF16 huge weight',
    args: ex(['--model', p['hf/st-huge-weight'], '--format', 'merged', '--dtype', 'BF16', '--out', o('bf16')]),
    expect: 'ok',
    outs: [o('bf16')],
    setup: fresh(o('bf16')),
  });
  add({
    name: 'export/merged nan adapter',
    args: ex([...M.slice(0, 2), '--adapter', p['a/nan'], '--format', 'merged', '--out', o('mnan')]),
    expect: 'error',
    outs: [o('mnan')],
    setup: fresh(o('mnan')),
  });
  add({
    name: 'export/merged ok',
    args: ex([...M.slice(0, 2), '--adapter', p['a/good'], '--format', 'merged', '--out', o('mok')]),
    expect: 'ok',
    outs: [o('mok')],
    setup: fresh(o('mok')),
  });
  add({
    name: 'export/merged ok F16',
    args: ex([...M.slice(0, 2), '--adapter', p['a/good'], '--format', 'merged', '--dtype', 'F16', '--out', o('mok16')]),
    expect: 'ok',
    outs: [o('mok16')],
    setup: fresh(o('mok16')),
  });
  add({
    name: 'export/merged twice without --overwrite',
    args: ex([...M.slice(0, 2), '--format', 'merged', '--out', o('twice')]),
    expect: 'error',
    setup: () => {
      mkdirSync(o('twice'), { recursive: true });
      writeFileSync(o('twice/config.json'), '{}');
    },
  });
  add({
    name: 'export/trl no data',
    args: ex([...M.slice(0, 2), '--adapter', p['a/good'], '--format', 'trl', '--out', o('trl-nodata')]),
    expect: 'error',
    outs: [o('trl-nodata')],
    setup: fresh(o('trl-nodata')),
  });
  add({
    name: 'export/trl ok',
    args: ex([
      ...M.slice(0, 2),
      '--adapter',
      p['a/good'],
      '--format',
      'trl',
      '--objective',
      'sft',
      '--data',
      p['d/sft.jsonl'],
      '--out',
      o('trl-ok'),
    ]),
    expect: 'ok',
    outs: [o('trl-ok')],
    setup: fresh(o('trl-ok')),
  });
  add({
    name: 'export/trl out-equals-data-folder',
    args: ex([
      ...M.slice(0, 2),
      '--adapter',
      p['a/good'],
      '--format',
      'trl',
      '--objective',
      'sft',
      '--data',
      p['d/sft.jsonl'],
      '--out',
      join(fx.inputs, 'd'),
    ]),
    expect: 'any',
  });
  add({
    name: 'export/format bogus',
    args: ex([...M.slice(0, 2), '--format', 'gguf', '--out', o('x')]),
    expect: 'error',
  });

  // ---- generate / score / eval specifics
  const long = 'Once upon a time there was a girl. '.repeat(3000).slice(0, 100_000);
  add({
    name: 'generate/prompt-100k',
    args: ['generate', ...M, '--prompt', long, '--max-new-tokens', '2'],
    expect: 'ok',
    timeoutMs: 90_000,
  });
  add({
    name: 'score/prompt-100k',
    args: ['score', ...M, '--prompt', long, '--response', ' the end'],
    expect: 'any',
    timeoutMs: 90_000,
  });
  add({ name: 'score/empty response', args: ['score', ...M, '--prompt', 'Once', '--response', ''], expect: 'any' });
  add({
    name: 'score/hangul emoji',
    args: ['score', ...M, '--prompt', '한국어 😀', '--response', ' 👍🏽'],
    expect: 'ok',
  });
  add({
    name: 'generate/empty prompt',
    args: ['generate', ...M, '--prompt', '', '--max-new-tokens', '3'],
    expect: 'ok',
  });
  add({
    name: 'generate/control chars',
    args: ['generate', ...M, '--prompt', '\u0001\u0007\u001b[31m', '--max-new-tokens', '2'],
    expect: 'ok',
  });
  add({ name: 'eval/unknown task', args: ['eval', ...M, '--tasks', 'nope'], expect: 'error' });
  add({ name: 'eval/no tasks', args: ['eval', ...M], expect: 'error' });
  add({
    name: 'eval/data root missing',
    args: ['eval', ...M, '--tasks', 'kobest_copa', '--data', join(fx.inputs, 'nope')],
    expect: 'error',
  });
  add({ name: 'eval/bad split', args: ['eval', ...M, '--tasks', 'kobest_copa', '--split', 'train'], expect: 'error' });
  add({
    name: 'eval/ok copa 2',
    args: ['eval', ...M, '--tasks', 'kobest_copa', '--limit', '2'],
    expect: 'ok',
    timeoutMs: 120_000,
  });
  add({
    name: 'eval/nan adapter',
    args: ['eval', ...M, '--tasks', 'kobest_copa', '--limit', '2', '--adapter', p['a/nan']],
    expect: 'error',
  });
  cases.push(...buildWriterCases(fx));
  return cases;
}
