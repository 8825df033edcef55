/**
 * The CLI failure-mode sweep: fixtures (broken models, adapters, data files, output paths),
 * one child process per case with a time limit and a V8 heap cap, and a verdict per case:
 *   ok             exit 0 where success was expected (or allowed)
 *   clean-error    non-zero exit with one `error:` line (or the command's one-line message), no stack trace
 *   accepted-bad   exit 0 where a refusal was expected (a bad input accepted silently)
 *   refused-good   a clean error where success was expected
 *   stack-trace    a stack frame on stderr, or more than one error line
 *   hang           killed at the time limit
 *   crash          killed by a signal / out of memory / exit code other than 0, 1, 2
 *   corrupt-write  an output with NaN/Inf, unparsable JSON(L), a 0-byte file, a leftover temp file,
 *                  or partial output left by a failed run
 *   data-loss      an input or a pre-existing file changed or lost
 * Used by tests/fuzz/cli-sweep.ts (all cases) and tests/cli/sweep-subset.test.ts (a fast subset).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createLora, snapshotLora, disposeLora } from '../../src/lib/lora/lora';
import { peftFileMap, toPeft } from '../../src/lib/formats/peft';
import { loadLlama2c } from '../../src/lib/formats/llama2c';
import { hfFixture } from '../helpers/hf-fixtures';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const STORIES = resolve(ROOT, '../shared/models/stories260K');
const TSX = createRequire(import.meta.url).resolve('tsx/cli');

export type Verdict =
  | 'ok'
  | 'clean-error'
  | 'accepted-bad'
  | 'refused-good'
  | 'stack-trace'
  | 'hang'
  | 'crash'
  | 'corrupt-write'
  | 'data-loss';
export const VERDICTS: Verdict[] = [
  'ok',
  'clean-error',
  'accepted-bad',
  'refused-good',
  'stack-trace',
  'hang',
  'crash',
  'corrupt-write',
  'data-loss',
];

export interface Case {
  name: string;
  args: string[];
  /** what a correct CLI does: succeed, refuse, or either */
  expect: 'ok' | 'error' | 'any';
  /** outputs to inspect (files or folders) */
  outs?: string[];
  /** run before the case (e.g. create a pre-existing output) */
  setup?: () => void;
  /** extra check after the case; returns a verdict that overrides, or null */
  check?: (r: RunResult) => Verdict | null;
  timeoutMs?: number;
  /** extra environment for the run */
  env?: Record<string, string>;
}

export interface RunResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

export interface CaseResult extends RunResult {
  name: string;
  verdict: Verdict;
  why: string;
}

/** One lab run as a child process group: heap cap, time limit, killed as a group on timeout. */
export function runLab(
  args: string[],
  timeoutMs: number,
  heapMb = 1536,
  env: Record<string, string> = {},
): Promise<RunResult> {
  return new Promise((done) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [TSX, 'cli/lab.ts', ...args], {
      cwd: ROOT,
      detached: true,
      env: { ...process.env, NODE_OPTIONS: `--max-old-space-size=${heapMb}`, CLO_DEBUG: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.on('data', (d) => (stdout = (stdout + d).slice(-200_000)));
    p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-200_000)));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, timedOut, ms: Date.now() - t0 });
    });
  });
}

function hashTree(p: string, out: Map<string, string>): void {
  if (!existsSync(p)) return;
  const st = statSync(p);
  if (st.isDirectory()) for (const e of readdirSync(p)) hashTree(join(p, e), out);
  else if (st.isFile()) out.set(p, createHash('sha1').update(readFileSync(p)).digest('hex'));
}

function listTree(p: string): string[] {
  const m = new Map<string, string>();
  hashTree(p, m);
  return [...m.keys()].sort();
}

/** Problems in written outputs: NaN/Inf safetensors, unparsable JSON/JSONL, empty files, temp files. */
function inspectOutputs(paths: string[]): string | null {
  const files: string[] = [];
  for (const p of paths) files.push(...listTree(p));
  for (const f of files) {
    const base = f.split('/').pop()!;
    if (/\.tmp-\d+|\.partial$/.test(base)) return `leftover temp file ${f}`;
    if (base === '.clo-lock') return `leftover lock ${f} (the writer exited without releasing it)`;
    const buf = readFileSync(f);
    if (buf.length === 0) return `0-byte file ${f}`;
    if (base.endsWith('.json')) {
      try {
        JSON.parse(buf.toString('utf8'));
      } catch {
        return `unparsable JSON ${f}`;
      }
    }
    if (base.endsWith('.jsonl')) {
      for (const line of buf.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          JSON.parse(line);
        } catch {
          return `unparsable JSONL line in ${f}`;
        }
      }
    }
    if (base.endsWith('.safetensors')) {
      const n = Number(buf.readBigUInt64LE(0));
      const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<
        string,
        { dtype: string; data_offsets: [number, number] }
      >;
      for (const [name, t] of Object.entries(header)) {
        if (name === '__metadata__') continue;
        const start = 8 + n + t.data_offsets[0];
        const end = 8 + n + t.data_offsets[1];
        if (t.dtype === 'F32') {
          const a = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + end));
          if (a.some((x) => !Number.isFinite(x))) return `non-finite values in ${f} tensor ${name}`;
        } else if (t.dtype === 'F16' || t.dtype === 'BF16') {
          const u = new Uint16Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + end));
          const expMask = t.dtype === 'F16' ? 0x7c00 : 0x7f80;
          if (u.some((h) => (h & expMask) === expMask)) return `non-finite values in ${f} tensor ${name}`;
        }
      }
    }
  }
  return null;
}

function classify(
  c: Case,
  r: RunResult,
  lost: string | null,
  outsBefore: Map<string, string[]>,
): { verdict: Verdict; why: string } {
  if (lost) return { verdict: 'data-loss', why: lost };
  if (r.timedOut) return { verdict: 'hang', why: `no exit within ${c.timeoutMs ?? 0} ms` };
  if (r.signal || (r.code !== 0 && r.code !== 1 && r.code !== 2))
    return { verdict: 'crash', why: `code ${r.code} signal ${r.signal} ${r.stderr.slice(-300)}` };
  if (
    /^\s+at .+(:\d+:\d+\)?|native\)?)$/m.test(r.stderr) ||
    /^\S*Error: /m.test(
      r.stderr
        .split('\n')
        .filter((l) => !l.startsWith('error:') && !l.startsWith('warning:'))
        .join('\n'),
    )
  )
    return { verdict: 'stack-trace', why: r.stderr.slice(-400) };
  const outs = c.outs ?? [];
  if (r.code === 0) {
    const bad = inspectOutputs(outs);
    if (bad) return { verdict: 'corrupt-write', why: bad };
    if (c.expect === 'error')
      return { verdict: 'accepted-bad', why: `exit 0: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}` };
    return { verdict: 'ok', why: '' };
  }
  // failed: no new partial output may be left behind
  for (const o of outs) {
    const before = outsBefore.get(o) ?? [];
    const after = listTree(o).filter((f) => !/\.cache\.json$/.test(f));
    const added = after.filter((f) => !before.includes(f));
    if (added.length > 0) return { verdict: 'corrupt-write', why: `failed run left ${added.join(', ')}` };
    const bad = inspectOutputs([o]);
    if (bad) return { verdict: 'corrupt-write', why: bad };
  }
  const lines = r.stderr.split('\n').filter((l) => l.trim());
  const errs = lines.filter((l) => /^(error:|eval: )/.test(l));
  // the top-level usage text (no command) goes to stdout with exit 2: a clean refusal
  if (errs.length === 0 && lines.length === 0 && r.code === 2 && r.stdout.startsWith('usage:'))
    return { verdict: c.expect === 'ok' ? 'refused-good' : 'clean-error', why: 'usage on stdout' };
  if (errs.length === 0 && !/^\S+: /.test(lines[lines.length - 1] ?? ''))
    return { verdict: 'stack-trace', why: `no one-line error: ${r.stderr.slice(-300)}` };
  if (c.expect === 'ok') return { verdict: 'refused-good', why: lines[lines.length - 1] ?? '' };
  return { verdict: 'clean-error', why: lines[lines.length - 1] ?? '' };
}

/** Runs cases `width` at a time; protected = every fixture file, hashed before and after each case. */
export async function runCases(
  cases: Case[],
  protectedDir: string,
  opts: { width?: number; timeoutMs?: number; onResult?: (r: CaseResult, i: number) => void } = {},
): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      const c = cases[i];
      c.setup?.();
      const before = new Map<string, string>();
      hashTree(protectedDir, before);
      const outsBefore = new Map((c.outs ?? []).map((o) => [o, listTree(o)]));
      const timeoutMs = c.timeoutMs ?? opts.timeoutMs ?? 90_000;
      const r = await runLab(c.args, timeoutMs, undefined, c.env);
      const after = new Map<string, string>();
      hashTree(protectedDir, after);
      let lost: string | null = null;
      for (const [f, h] of before) {
        // other cases running in parallel only ever write under out/, never to the fixtures
        if (after.get(f) !== h) lost = `${f} ${after.has(f) ? 'changed' : 'deleted'}`;
      }
      let { verdict, why } = classify({ ...c, timeoutMs }, r, lost, outsBefore);
      if (c.check && (verdict === 'ok' || verdict === 'clean-error')) {
        const v = c.check(r);
        if (v) [verdict, why] = [v, `case check: ${r.stderr.trim().split('\n').pop() ?? ''}`];
      }
      results[i] = { ...r, name: c.name, verdict, why };
      opts.onResult?.(results[i], i);
    }
  };
  await Promise.all(Array.from({ length: opts.width ?? 2 }, worker));
  return results;
}

/** Safetensors bytes written by hand (any values, NaN included), F32 only. */
function rawSafetensors(
  tensors: Record<string, { shape: number[]; data: number[] | Float32Array }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  const blobs: Buffer[] = [];
  let off = 0;
  for (const [n, t] of Object.entries(tensors)) {
    const b = Buffer.from(Float32Array.from(t.data).buffer);
    header[n] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + b.length] };
    off += b.length;
    blobs.push(b);
  }
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, ...blobs]);
}

/** Rewrites one float of a safetensors file (F32) in place: for NaN / huge-value fixtures. */
function patchF32(bytes: Uint8Array, tensor: string, index: number, value: number): Uint8Array {
  const buf = Buffer.from(bytes);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const t = header[tensor];
  if (!t) throw new Error(`no tensor ${tensor}`);
  buf.writeFloatLE(value, 8 + n + t.data_offsets[0] + 4 * index);
  return buf;
}

function writeDir(dir: string, files: Record<string, Uint8Array | string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b);
  return dir;
}

export interface Fixtures {
  root: string;
  inputs: string;
  out: string;
  p: Record<string, string>;
  translatorUrl: string;
  close(): Promise<void>;
}

/** A LibreTranslate stand-in: echoes the text (so indicators survive), or fails with 502 on "FAIL". */
function startTranslator(): Promise<{ server: Server; url: string }> {
  return new Promise((ok) => {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        let q = '';
        try {
          q = String((JSON.parse(body) as { q?: string }).q ?? '');
        } catch {
          /* form body */
        }
        if (q.includes('FAIL')) {
          res.writeHead(502).end('bad gateway');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ translatedText: q }));
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const a = server.address() as { port: number };
      ok({ server, url: `http://127.0.0.1:${a.port}` });
    });
  });
}

/** Builds every fixture under root/inputs (protected) and root/out (where cases write). */
export async function makeFixtures(root: string): Promise<Fixtures> {
  await tf.setBackend('cpu');
  const inputs = join(root, 'inputs');
  const out = join(root, 'out');
  mkdirSync(inputs, { recursive: true });
  mkdirSync(out, { recursive: true });
  const p: Record<string, string> = {};
  const put = (name: string, data: Uint8Array | string) => {
    const f = join(inputs, name);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, data);
    return (p[name] = f);
  };
  const bin = readFileSync(join(STORIES, 'stories260K.bin'));
  const tokBytes = readFileSync(join(STORIES, 'tok512.bin'));
  // llama2.c models
  put('m/stories.bin', bin);
  put('m/tok512.bin', tokBytes);
  copyFileSync(p['m/tok512.bin'], join(inputs, 'm/tokenizer.bin'));
  p['m/tokenizer.bin'] = join(inputs, 'm/tokenizer.bin');
  put('bad/truncated.bin', bin.subarray(0, 50_000));
  put('bad/empty.bin', new Uint8Array(0));
  put('bad/garbage.bin', Buffer.from('this is not a model at all, just some text bytes'.repeat(20)));
  const neg = Buffer.from(bin);
  neg.writeInt32LE(-5, 8);
  put('bad/neg-layers.bin', neg);
  const zero = Buffer.from(bin);
  zero.writeInt32LE(0, 0);
  put('bad/zero-dim.bin', zero);
  const huge = Buffer.from(bin);
  huge.writeInt32LE(1 << 30, 24);
  put('bad/huge-seq.bin', huge);
  put('bad/tok-truncated.bin', tokBytes.subarray(0, 3000));
  put('bad/tok-empty.bin', new Uint8Array(0));

  // Hugging Face folders
  const fx = hfFixture('llama', 'F32');
  const hf = (name: string, files: Record<string, Uint8Array | string>) =>
    (p[name] = writeDir(join(inputs, name), files));
  hf('hf/good', fx.files);
  const cfg = JSON.parse(fx.files['config.json'] as string) as Record<string, unknown>;
  hf('hf/layers3', { ...fx.files, 'config.json': JSON.stringify({ ...cfg, num_hidden_layers: 3 }) });
  hf('hf/layers1', { ...fx.files, 'config.json': JSON.stringify({ ...cfg, num_hidden_layers: 1 }) });
  hf('hf/layers0', { ...fx.files, 'config.json': JSON.stringify({ ...cfg, num_hidden_layers: 0 }) });
  hf('hf/pos0', { ...fx.files, 'config.json': JSON.stringify({ ...cfg, max_position_embeddings: 0 }) });
  hf('hf/rope0', { ...fx.files, 'config.json': JSON.stringify({ ...cfg, rope_theta: 0 }) });
  hf('hf/neg-heads', { ...fx.files, 'config.json': JSON.stringify({ ...cfg, num_attention_heads: -4 }) });
  hf('hf/str-hidden', { ...fx.files, 'config.json': JSON.stringify({ ...cfg, hidden_size: '16' }) });
  hf('hf/vocab-small', { ...fx.files, 'config.json': JSON.stringify({ ...cfg, vocab_size: 8 }) });
  hf('hf/bad-json', { ...fx.files, 'config.json': '{"architectures": [' });
  hf('hf/array-json', { ...fx.files, 'config.json': '[1,2,3]' });
  hf('hf/arch-bert', { ...fx.files, 'config.json': JSON.stringify({ ...cfg, architectures: ['BertModel'] }) });
  hf('hf/no-weights', { 'config.json': fx.files['config.json'], 'tokenizer.json': fx.files['tokenizer.json'] });
  hf('hf/no-tokenizer', { 'config.json': fx.files['config.json'], 'model.safetensors': fx.files['model.safetensors'] });
  hf('hf/pickle', {
    'config.json': fx.files['config.json'],
    'tokenizer.json': fx.files['tokenizer.json'],
    'pytorch_model.bin': 'PK',
  });
  const st = fx.files['model.safetensors'] as Uint8Array;
  const stHeaderLen = Number(Buffer.from(st).readBigUInt64LE(0));
  const hdr = JSON.parse(
    Buffer.from(st)
      .subarray(8, 8 + stHeaderLen)
      .toString('utf8'),
  ) as Record<string, unknown>;
  const firstTensor = Object.keys(hdr).find((k) => k !== '__metadata__')!;
  const withHeader = (h: unknown, extra = st.subarray(8 + stHeaderLen)) => {
    const hb = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(hb.length));
    return Buffer.concat([len, hb, extra]);
  };
  const stAttack = (name: string, bytes: Uint8Array) =>
    hf(`hf/st-${name}`, { ...fx.files, 'model.safetensors': bytes });
  stAttack('truncated', st.subarray(0, Math.floor(st.length / 2)));
  stAttack('empty', new Uint8Array(0));
  stAttack('short', st.subarray(0, 5));
  const hugeLen = Buffer.from(st);
  hugeLen.writeBigUInt64LE(BigInt(2) ** BigInt(60), 0);
  stAttack('huge-header-len', hugeLen);
  const badJson = Buffer.from(st);
  badJson.write('{{{{', 8);
  stAttack('bad-header-json', badJson);
  stAttack(
    'offsets-past-end',
    withHeader({ ...hdr, [firstTensor]: { ...(hdr[firstTensor] as object), data_offsets: [0, 1e12] } }),
  );
  stAttack('dtype-unknown', withHeader({ ...hdr, [firstTensor]: { ...(hdr[firstTensor] as object), dtype: 'Q4' } }));
  stAttack(
    'shape-negative',
    withHeader({ ...hdr, [firstTensor]: { ...(hdr[firstTensor] as object), shape: [-1, 16] } }),
  );
  stAttack('header-array', withHeader([1, 2]));
  stAttack('nan-weight', patchF32(st, firstTensor, 0, NaN));
  stAttack('huge-weight', patchF32(st, firstTensor, 0, 1e6));

  // data files
  const sft = [
    { prompt: 'Once upon a time', response: ' there was a cat.' },
    { prompt: 'The dog', response: ' ran to the park.' },
    { prompt: 'Lily saw', response: ' a big red ball.' },
    { prompt: 'Tom said', response: ' hello to his mom.' },
  ];
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  put('d/sft.jsonl', jsonl(sft));
  put('d/pref.jsonl', jsonl(sft.map((r) => ({ prompt: r.prompt, chosen: r.response, rejected: ' no.' }))));
  put(
    'd/clo.jsonl',
    jsonl(
      sft.map((r) => ({
        x_en: r.prompt,
        y_en: r.response,
        x_tgt: `${r.prompt} (ko)`,
        y_tgt: `${r.response} (ko)`,
        lang: 'ko',
      })),
    ),
  );
  put(
    'd/alpaca.jsonl',
    jsonl([
      { instruction: 'Name a cat.', input: '', output: 'Tom.' },
      { instruction: 'Say hi.', output: 'Hi.' },
    ]),
  );
  put(
    'd/alpaca-fail.jsonl',
    jsonl([
      { instruction: 'Name a cat.', output: 'Tom.' },
      { instruction: 'FAIL this one.', output: 'no' },
    ]),
  );
  put(
    'd/parallel.jsonl',
    jsonl([
      { en: 'Name a cat.', ko: '고양이 이름' },
      { en: 'Tom.', ko: '톰.' },
    ]),
  );
  put('d/empty.jsonl', '');
  put('d/blank-lines.jsonl', '\n\n\n');
  put('d/broken.jsonl', '{"prompt": "a", "response": "b"}\n{"prompt": "c", "resp\n');
  put('d/wrong-shape.jsonl', jsonl([{ foo: 1 }, { bar: 2 }]));
  put('d/array.json', JSON.stringify(sft));
  put('d/object.json', JSON.stringify({ prompt: 'a' }));
  put('d/rows.csv', 'prompt,response\n"Once upon a time"," there was a cat."\n"The dog"," ran."\n');
  put('d/bad.csv', 'prompt,response\n"unclosed,\n');
  put('d/binary.jsonl', Buffer.from([0, 1, 2, 255, 254, 0, 10, 0xc3, 0x28]));
  put('d/bom.jsonl', '\ufeff' + jsonl(sft));
  put(
    'd/nulls.jsonl',
    jsonl([
      { prompt: null, response: 'x' },
      { prompt: 'a', response: 5 },
    ]),
  );
  put('d/huge-row.jsonl', jsonl([{ prompt: 'Once upon a time '.repeat(60_000), response: ' the end.' }, ...sft]));
  put(
    'd/proto.jsonl',
    '{"__proto__": {"polluted": 1}, "prompt": "a", "response": "b"}\n{"constructor": 1, "prompt": "c", "response": "d"}\n',
  );
  put('d/deep.json', '['.repeat(100_000) + ']'.repeat(100_000));
  put('d/cache-bad.json', '{not json');
  put('d/cache-array.json', '[1,2]');

  // adapters for stories260K
  const stories = loadLlama2c(
    new Uint8Array(bin),
    new Uint8Array(tokBytes),
    'stories260K',
    'stories260K',
    'stories260K.bin',
    'tok512.bin',
  );
  const lora = createLora(
    stories.config,
    { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], init: 'gaussian' },
    1,
  );
  const snap = await snapshotLora(lora);
  disposeLora(lora);
  for (const t of Object.values(snap.tensors)) t.B.fill(0.01);
  const files = peftFileMap(toPeft(snap, stories.config, 'stories260K'));
  const goodCfg = JSON.parse(new TextDecoder().decode(files.get('adapter_config.json')!)) as Record<string, unknown>;
  const goodW = files.get('adapter_model.safetensors')!;
  const ad = (name: string, cfgPatch: Record<string, unknown> | string | null, w: Uint8Array | null = goodW) => {
    const f: Record<string, Uint8Array | string> = {};
    if (cfgPatch !== null)
      f['adapter_config.json'] = typeof cfgPatch === 'string' ? cfgPatch : JSON.stringify({ ...goodCfg, ...cfgPatch });
    if (w) f['adapter_model.safetensors'] = w;
    return (p[name] = writeDir(join(inputs, name), f));
  };
  ad('a/good', {});
  ad('a/alpha0', { lora_alpha: 0 });
  ad('a/alpha-neg', { lora_alpha: -8 });
  ad('a/alpha-str', { lora_alpha: 'abc' });
  ad('a/alpha-inf', { lora_alpha: Infinity });
  ad('a/r0', { r: 0 });
  ad('a/r-str', { r: 'four' });
  ad('a/r-wrong', { r: 3 });
  ad('a/targets-bogus', { target_modules: ['q_proj', 'v_proj', 'qq_proj'] });
  ad('a/other-base', { base_model_name_or_path: 'meta-llama/Llama-2-7b-hf' });
  ad('a/dora', { use_dora: true });
  ad('a/not-lora', { peft_type: 'PREFIX_TUNING' });
  ad('a/bad-json', '{"r": 4,');
  ad('a/array-json', '[]');
  ad('a/no-weights', {}, null);
  ad('a/no-config', null);
  const wName = Object.keys(
    JSON.parse(
      Buffer.from(goodW)
        .subarray(8, 8 + Number(Buffer.from(goodW).readBigUInt64LE(0)))
        .toString('utf8'),
    ),
  ).find((k) => k.includes('lora_B'))!;
  ad('a/nan', {}, patchF32(goodW, wName, 0, NaN));
  ad('a/inf', {}, patchF32(goodW, wName, 1, Infinity));
  ad('a/huge', {}, patchF32(goodW, wName, 0, 1e30));
  ad(
    'a/wrong-dims',
    {},
    rawSafetensors({
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': { shape: [4, 48], data: new Float32Array(192) },
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight': { shape: [64, 4], data: new Float32Array(256) },
    }),
  );
  ad(
    'a/layer-past',
    {},
    rawSafetensors({
      'base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight': { shape: [4, 64], data: new Float32Array(256) },
      'base_model.model.model.layers.9.self_attn.q_proj.lora_B.weight': { shape: [64, 4], data: new Float32Array(256) },
    }),
  );
  ad('a/empty-st', {}, rawSafetensors({}));
  ad('a/garbage-st', {}, Buffer.from('garbage garbage garbage'));
  // an adapter for the tiny HF llama (other dims): applying it to stories260K must be refused
  const hfLora = createLora(fx.config, { r: 2, alpha: 4, dropout: 0, targets: ['q_proj'], init: 'gaussian' }, 2);
  const hfSnap = await snapshotLora(hfLora);
  disposeLora(hfLora);
  const hfFiles = peftFileMap(toPeft(hfSnap, fx.config, 'tiny-llama'));
  p['a/for-hf'] = writeDir(join(inputs, 'a/for-hf'), Object.fromEntries(hfFiles));

  // an existing run folder and an existing output file (must survive refusals)
  p['existing-run'] = writeDir(join(inputs, 'existing-run'), {
    'adapter_config.json': JSON.stringify(goodCfg),
    'adapter_model.safetensors': goodW,
    'run.json': '{"old": true}',
  });
  put('existing-pairs.jsonl', jsonl([{ x_en: 'a', y_en: 'b', x_tgt: 'c', y_tgt: 'd', lang: 'ko' }]));
  put('a-file', 'just a file');

  const { server, url } = await startTranslator();
  return { root, inputs, out, p, translatorUrl: url, close: () => new Promise((ok) => server.close(() => ok())) };
}
