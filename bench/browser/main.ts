/**
 * Browser bench page (bench/browser/bench.html, built only for the bench: CLO_BENCH_PAGE=1): for each backend, a fresh training worker runs a few CLO steps of
 * stories260K on the bundled en–ko pairs. Reports tokens/s per backend, the wasm threads used and,
 * per backend, the time from page load (navigation start) to its first finished training step (for the
 * first backend on the page that is the first-step latency after page load: bench/browser-bench.ts
 * loads the page once per backend). ?threads=N asks the worker for N wasm threads.
 * Results: window.__bench = {done, results: [...]} (read by bench/browser-bench.ts).
 */
import type { BackendName, WorkerEvent } from '../../workers/train/protocol';
import { trainJobs } from '../../workers/host/registry';
import { DatasetStore } from '../../src/lib/store/datasets';
import { parseDataFile } from '../../src/lib/data/index';
import { defaultTrainConfig } from '../../src/lib/train/defaults';

interface BackendResult {
  requested: BackendName;
  backend: string | null;
  fallbackFrom: string[];
  adapter?: string;
  initMs: number | null;
  /** ms from navigation start to this backend's first finished step */
  firstStepAtMs: number | null;
  steps: number;
  tokensPerS: number | null;
  msPerStep: number | null;
  /** ms of every step, first included */
  stepMs: number[];
  error?: string;
  /** wasm threads the worker ran with */
  threads?: number;
  /** wasm: whether the threaded SIMD build was loaded */
  threadedBuild?: boolean;
}

const params = new URLSearchParams(location.search);
const backends = (params.get('backends') ?? 'webgpu,wasm,cpu').split(',') as BackendName[];
const steps = Number(params.get('steps') ?? 4);
const batchSize = Number(params.get('batch') ?? 2);
const maxSeqLen = Number(params.get('seq') ?? 64);
/** wasm threads (absent = the worker host's default: half the logical cores) */
const threads = params.get('threads') ? Number(params.get('threads')) : undefined;
const out = document.getElementById('out')!;
const w = window as unknown as {
  __bench: { done: boolean; results: BackendResult[]; pageToFirstStepMs: number | null; error?: string };
};
w.__bench = { done: false, results: [], pageToFirstStepMs: null };

const DATA_ID = 'bench-clo-en-ko';

async function prepareData(): Promise<void> {
  const store = new DatasetStore();
  if (await store.getMeta(DATA_ID)) return;
  const file = 'data/instructions/paired_alpaca_koalpaca_en_ko.jsonl';
  const text = await (await fetch(`/${file}`)).text();
  await store.save(
    { id: DATA_ID, name: 'bench en–ko pairs', source: 'bundled', fileName: file },
    parseDataFile(text, file),
  );
}

function runOne(requested: BackendName): Promise<BackendResult> {
  const r: BackendResult = {
    requested,
    backend: null,
    fallbackFrom: [],
    initMs: null,
    firstStepAtMs: null,
    steps: 0,
    tokensPerS: null,
    msPerStep: null,
    stepMs: [],
  };
  const toks: number[] = [];
  const ms: number[] = [];
  const finish = (error?: string) => {
    if (error) r.error = error;
    // first step includes warm-up (shader compilation): leave it out of the averages when there are more
    const t = toks.length > 1 ? toks.slice(1) : toks;
    const m = ms.length > 1 ? ms.slice(1) : ms;
    r.tokensPerS = t.length ? t.reduce((a, b) => a + b, 0) / t.length : null;
    r.msPerStep = m.length ? m.reduce((a, b) => a + b, 0) / m.length : null;
    return r;
  };
  const onEvent = (e: WorkerEvent) => {
    if (e.type !== 'metrics') return;
    r.steps += 1;
    if (r.firstStepAtMs === null) r.firstStepAtMs = performance.now();
    toks.push(e.metrics.tokens_per_s);
    ms.push(e.metrics.ms);
    r.stepMs.push(Math.round(e.metrics.ms));
  };
  // a fresh training worker per backend, through the page's job runtime
  return trainJobs
    .restart({ backend: requested, threads }, 'the bench moved to the next backend')
    .then(async (e) => {
      r.backend = e.backend;
      r.fallbackFrom = e.fallbackFrom.map((f) => f.name);
      r.adapter = e.adapter ? [e.adapter.vendor, e.adapter.architecture].filter(Boolean).join('/') : undefined;
      r.initMs = e.initMs;
      r.threads = e.threads;
      r.threadedBuild = e.threadedBuild;
      const config = defaultTrainConfig('clo', { steps, batchSize, maxSeqLen, checkpointEvery: 0, lr: 1e-3 });
      const runId = `bench-${requested}-${Date.now()}`;
      const start = { runId, name: `bench ${requested}`, datasetId: DATA_ID, config };
      await trainJobs.call('train', { start }, { onProgress: onEvent });
      return finish();
    })
    .catch((err: unknown) => finish(err instanceof Error ? err.message : String(err)));
}

async function main() {
  try {
    await prepareData();
    for (const b of backends) {
      out.textContent = `running ${b}…\n` + JSON.stringify(w.__bench.results, null, 1);
      const r = await runOne(b);
      w.__bench.results.push(r);
      if (w.__bench.pageToFirstStepMs === null && r.firstStepAtMs !== null)
        w.__bench.pageToFirstStepMs = r.firstStepAtMs;
    }
  } catch (err) {
    w.__bench.error = err instanceof Error ? err.message : String(err);
  }
  w.__bench.done = true;
  out.textContent = JSON.stringify(w.__bench, null, 1);
}

void main();
