/// <reference lib="webworker" />
/**
 * The vocabulary worker (the browser's Vocabulary step, docs/methods.md §8): boots through the worker
 * host (../host/boot.ts) like the train and eval workers, then chains the engine the way
 * `cli/commands/vocab.ts` does: corpus → extendModel (learn tokens, extend the tokenizer, grow and
 * initialise the rows) → tokens/char and bits/char on held-out Korean text → the merged HF-layout
 * files, kept in IndexedDB (ModelStore) so every worker can load the model as
 * `{kind: 'stored', id, name}`. `compare` runs short continued pretraining (`pt`, new rows only,
 * as bench/vocab-bench.ts) from the salt, mean and random inits with one seed and streams the losses.
 * Jobs: ./protocol.ts, served by the job runtime (../host/jobs.ts: one job at a time, cancel through
 * the job's signal).
 */
import * as tf from '@tensorflow/tfjs';
import { bootHost, ModelHost } from '../host/boot';
import { serveJobs, type JobContext } from '../host/jobs';
import type { BackendName } from '../../src/lib/backend/order';
import type { LoadedModel } from '../../src/lib/model/model';
import type { Tokenizer } from '../../src/lib/tokenizer/types';
import { idbStore } from '../../src/lib/store/idb';
import { ModelStore } from '../../src/lib/store/models';
import { corpusTexts, DEFAULT_CORPUS_FILES, HELDOUT_FILES } from '../../src/lib/vocab/corpus';
import { disposeExtension, extendModel, idStrings, type ExtendResult } from '../../src/lib/vocab/extend-model';
import { loadDonor, type Donor } from '../../src/lib/vocab/donor';
import { INIT_METHODS, type InitMethod } from '../../src/lib/vocab/init';
import { bitsPerChar, tokensPerChar } from '../../src/lib/eval/bits-per-char';
import { exportMerged } from '../../src/lib/formats/merged';
import { Trainer } from '../../src/lib/train/trainer';
import { runTraining } from '../../src/lib/train/run-training';
import { defaultTrainConfig } from '../../src/lib/train/defaults';
import type {
  CompareArgs,
  CompareRow,
  ExtendArgs,
  ExtendSettings,
  ExtendSummary,
  SampleToken,
  VocabComparedEvent,
  VocabCurveEvent,
  VocabJobs,
  VocabProgressEvent,
  VocabReady,
} from './protocol';

declare const self: DedicatedWorkerGlobalScope;

const host = new ModelHost();

function boot(s: { backend?: BackendName }): Promise<VocabReady> {
  return bootHost({ backend: s.backend }, host);
}

const nextTask = () => new Promise<void>((r) => setTimeout(r, 0));

function checkCancel(signal: AbortSignal): void {
  if (signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
}

async function fetchText(file: string): Promise<string> {
  const url = new URL(`/${file}`, self.location.origin).href;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${file}: HTTP ${res.status}`);
  return res.text();
}

async function loadCorpus(s: ExtendSettings): Promise<{ texts: string[]; name: string }> {
  const c = s.corpus;
  if (c.kind === 'bundled') {
    const parts = await Promise.all(DEFAULT_CORPUS_FILES.map(async (f) => corpusTexts(await fetchText(f), f)));
    return { texts: parts.flat(), name: 'bundled Korean corpus' };
  }
  if (c.kind === 'texts') {
    if (!c.texts.some((t) => t.trim())) throw new Error(`${c.name}: empty corpus (no text to learn tokens from)`);
    return { texts: c.texts, name: c.name };
  }
  const content = await c.file.text();
  return { texts: corpusTexts(content, c.name, { column: c.column || undefined }), name: c.name };
}

async function loadHeldout(n: number): Promise<string[]> {
  const parts = await Promise.all(HELDOUT_FILES.map(async (f) => corpusTexts(await fetchText(f), f)));
  return parts.flat().slice(0, Math.max(1, n));
}

async function readDonor(s: ExtendSettings): Promise<Donor | null> {
  const d = s.donor;
  if (!d) return null;
  if (s.init !== 'salt') throw new Error('a donor is only used by the salt init');
  const [m, v] = await Promise.all([d.matrix.arrayBuffer(), d.vocab.arrayBuffer()]);
  return loadDonor(new Uint8Array(m), d.matrixName, new Uint8Array(v), d.vocabName);
}

function sampleTokens(tok: Tokenizer, text: string, oldVocab: number): SampleToken[] {
  const names = idStrings(tok);
  return tok.encode(text, { bos: false }).map((id) => ({ text: names[id] ?? `#${id}`, added: id >= oldVocab }));
}

/** Progress events at most every 100 ms (learning reports per merge), always the last one. */
function progress(post: (e: VocabProgressEvent) => void): (stage: string, done: number, total: number) => void {
  let last = 0;
  return (stage, done, total) => {
    const now = performance.now();
    if (done < total && now - last < 100) return;
    last = now;
    post({ type: 'progress', stage, done, total });
  };
}

async function extendJob(cmd: ExtendArgs, ctx: JobContext<VocabProgressEvent>): Promise<ExtendSummary> {
  const t0 = performance.now();
  const report = progress(ctx.progress);
  report('corpus', 0, 1);
  const base = await host.ensure(cmd.model);
  const { texts, name } = await loadCorpus(cmd.settings);
  const donor = await readDonor(cmd.settings);
  const heldout = await loadHeldout(cmd.heldout);
  checkCancel(ctx.signal);
  const ext = await extendModel(base, texts, {
    add: cmd.settings.add,
    init: cmd.settings.init,
    seed: cmd.settings.seed,
    donor,
    source: name,
    onProgress: report,
  });
  try {
    checkCancel(ctx.signal);
    report('measure', 0, 2);
    const before = await bitsPerChar(base, heldout);
    report('measure', 1, 2);
    const after = await bitsPerChar(ext.model, heldout);
    checkCancel(ctx.signal);
    report('store', 0, 1);
    const files = await exportMerged(ext.model, null);
    const store = new ModelStore(idbStore());
    const modelName = await freeName(store, ext.model.name);
    const tpcBefore = tokensPerChar((t) => base.tokenizer.encode(t, { bos: false }), heldout);
    const tpcAfter = tokensPerChar((t) => ext.model.tokenizer.encode(t, { bos: false }), heldout);
    const meta = await store.save(
      {
        name: modelName,
        base: base.name,
        vocabSize: ext.model.config.vocabSize,
        added: ext.newIds.length,
        init: ext.init,
        notes: {
          corpus: name,
          seed: cmd.settings.seed,
          aux: ext.auxSource,
          tokens_per_char_before: tpcBefore,
          tokens_per_char_after: tpcAfter,
          bits_per_char_before: before.bits_per_char,
          bits_per_char_after: after.bits_per_char,
        },
      },
      Object.fromEntries(files),
    );
    report('store', 1, 1);
    return {
      modelId: meta.id,
      name: meta.name,
      base: base.name,
      added: ext.newIds.length,
      syllables: ext.learned.filter((p) => !p.merge).length,
      merges: ext.learned.filter((p) => p.merge).length,
      oldVocab: ext.oldVocab,
      vocabSize: ext.model.config.vocabSize,
      init: ext.init,
      auxSource: ext.auxSource,
      corpus: name,
      corpusTexts: texts.length,
      heldoutTexts: heldout.length,
      tokensPerCharBefore: tpcBefore,
      tokensPerCharAfter: tpcAfter,
      bitsPerCharBefore: before.bits_per_char,
      bitsPerCharAfter: after.bits_per_char,
      sample: {
        text: cmd.sample,
        before: sampleTokens(base.tokenizer, cmd.sample, Infinity),
        after: sampleTokens(ext.model.tokenizer, cmd.sample, ext.oldVocab),
      },
      timings: ext.timings,
      backend: tf.getBackend(),
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    disposeExtension(ext, base);
  }
}

/** `name`, or `name (2)`, `name (3)`… when a stored model already has it. */
async function freeName(store: ModelStore, name: string): Promise<string> {
  const taken = new Set((await store.list()).map((m) => m.name));
  let out = name;
  for (let k = 2; taken.has(out); k++) out = `${name} (${k})`;
  return out;
}

/** Stores the extended model with the trainer's rows (Compare inits' "keep"); returns its id and name. */
async function keepTrained(
  ext: ExtendResult,
  base: LoadedModel,
  trainer: Trainer,
  steps: number,
  corpus: string,
  bpc: { start: number; end: number },
): Promise<{ modelId: string; name: string }> {
  const m = trainer.rows!.merged();
  try {
    const model: LoadedModel = {
      ...ext.model,
      name: `${ext.model.name}+pt${steps}`,
      weights: { ...ext.model.weights, embed: m.embed, lmHead: m.lmHead ?? ext.model.weights.lmHead },
    };
    const files = await exportMerged(model, null);
    const store = new ModelStore(idbStore());
    const meta = await store.save(
      {
        name: await freeName(store, model.name),
        base: base.name,
        vocabSize: model.config.vocabSize,
        added: ext.newIds.length,
        init: ext.init,
        notes: { corpus, pt_steps: steps, bits_per_char_before: bpc.start, bits_per_char_after: bpc.end },
      },
      Object.fromEntries(files),
    );
    return { modelId: meta.id, name: meta.name };
  } finally {
    m.embed.dispose();
    m.lmHead?.dispose();
  }
}

/** Held-out bits/char of the extended model with the trainer's current rows swapped in. */
async function bpcWithRows(ext: ExtendResult, trainer: Trainer, heldout: string[]): Promise<number> {
  const m = trainer.rows!.merged();
  try {
    const model: LoadedModel = {
      ...ext.model,
      weights: { ...ext.model.weights, embed: m.embed, lmHead: m.lmHead ?? ext.model.weights.lmHead },
    };
    return (await bitsPerChar(model, heldout)).bits_per_char;
  } finally {
    m.embed.dispose();
    m.lmHead?.dispose();
  }
}

async function compareJob(
  cmd: CompareArgs,
  ctx: JobContext<VocabProgressEvent | VocabCurveEvent>,
): Promise<VocabComparedEvent> {
  const t0 = performance.now();
  const report = progress(ctx.progress);
  report('corpus', 0, 1);
  const base = await host.ensure(cmd.model);
  const { texts, name } = await loadCorpus(cmd.settings);
  const heldout = await loadHeldout(cmd.heldout);
  const rows = texts.map((t) => ({ kind: 'sft' as const, prompt: '', response: t }));
  const out: CompareRow[] = [];
  for (const init of INIT_METHODS as InitMethod[]) {
    checkCancel(ctx.signal);
    const donor = init === 'salt' ? await readDonor({ ...cmd.settings, init }) : null;
    const ext = await extendModel(base, texts, {
      add: cmd.settings.add,
      init,
      seed: cmd.settings.seed,
      donor,
      source: name,
      onProgress: (stage, d, n) => report(`${init}: ${stage}`, d, n),
    });
    let trainer: Trainer | null = null;
    try {
      trainer = Trainer.create(
        ext.model,
        rows,
        defaultTrainConfig('pt', {
          steps: cmd.steps,
          batchSize: 4,
          lr: 3e-3,
          maxSeqLen: 128,
          seed: cmd.settings.seed,
          warmupSteps: Math.min(10, Math.floor(cmd.steps / 5)),
          trainRowsFrom: ext.oldVocab,
          lora: { r: 8, alpha: 16, dropout: 0, targets: [], init: 'gaussian' },
        }),
      );
      const start = await bpcWithRows(ext, trainer, heldout);
      const losses: number[] = [];
      // a cancel aborts the call's signal: the loop returns between steps, and the job ends as cancelled
      checkCancel(ctx.signal);
      const outcome = await runTraining(trainer, {
        signal: ctx.signal,
        onStep: (m) => {
          losses.push(m.loss);
          ctx.progress({ type: 'curve', init, step: m.step, loss: m.loss });
          report(`train ${init}`, m.step, cmd.steps);
        },
        between: nextTask,
      });
      if (outcome.status === 'aborted') checkCancel(ctx.signal);
      const end = await bpcWithRows(ext, trainer, heldout);
      const kept = cmd.keep ? await keepTrained(ext, base, trainer, cmd.steps, name, { start, end }) : undefined;
      out.push({ init, losses, bitsPerCharStart: start, bitsPerCharEnd: end, ...(kept ? { kept } : {}) });
    } finally {
      trainer?.dispose();
      disposeExtension(ext, base);
    }
  }
  return { rows: out, steps: cmd.steps, backend: tf.getBackend(), seconds: (performance.now() - t0) / 1000 };
}

serveJobs<VocabJobs, { backend?: BackendName }, VocabReady>('vocabulary worker', {
  boot,
  jobs: { extend: extendJob, compare: compareJob },
});
