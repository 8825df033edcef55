/**
 * Browser bench: serves the bench build (the app plus bench/browser/bench.html, built into dist-bench
 * with CLO_BENCH_PAGE=1; vite preview), opens the bench page in Chromium (WebGPU on
 * SwiftShader where there is no GPU) once per variant and repeat, each in a fresh browser context, and
 * records per variant: tokens/s, ms/step, the wasm threads the worker used, and the first-step latency
 * (navigation start of the page → first training step done; includes storing the data in IndexedDB,
 * booting the worker and the first step's warm-up). Repeats alternate the variants (A B, B A, A B …) so
 * a change in machine load hits both alike; each repeat also records how many cores other processes
 * kept busy meanwhile (`otherCores`, from /proc) so a noisy figure can be told apart.
 *
 * The result is one labelled entry in `runs` of the output file (an entry with the same label is
 * replaced, the others kept), so a before/after pair lives side by side:
 *
 *   CLO_BENCH_PAGE=1 npx vite build && npx tsx bench/browser-bench.ts --label after [--variants wasm:1,wasm:default]
 *     [--repeats 3] [--steps 6] [--batch 2] [--seq 64] [--port 4174] [--out bench/results/browser.json]
 *
 * A variant is `backend` or `wasm:N` (N threads) or `wasm:default` (the worker host's default,
 * workers/host/boot.ts defaultThreads()).
 */
import { chromium, type Browser } from '@playwright/test';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const variants = flag('variants', 'wasm:1,wasm:default').split(',');
const repeats = Number(flag('repeats', '3'));
const steps = Number(flag('steps', '6'));
const port = Number(flag('port', '4174'));
const batch = Number(flag('batch', '2'));
const seq = Number(flag('seq', '64'));
const label = flag('label', 'latest');
const outFile = flag('out', 'bench/results/browser.json');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** One page load of the bench page for one variant (bench/browser/main.ts fills window.__bench). */
interface Repeat {
  threads: number | null;
  threadedBuild: boolean | null;
  tokensPerS: number | null;
  msPerStep: number | null;
  /** navigation start → first step done */
  pageToFirstStepMs: number | null;
  /** worker start → model ready */
  initMs: number | null;
  stepMs: number[];
  /** cores other processes kept busy during this repeat (machine busy time minus Chromium's) */
  otherCores: number | null;
  error?: string;
}

interface VariantSummary {
  variant: string;
  backend: string;
  /** threads asked for ('default' = the worker host's default) */
  threadsRequested: number | 'default' | null;
  /** threads the worker reported using */
  threads: number | null;
  /** medians over the repeats */
  tokensPerS: number | null;
  msPerStep: number | null;
  pageToFirstStepMs: number | null;
  repeats: Repeat[];
}

const median = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const round = (x: number | null, digits = 0): number | null => (x === null ? null : Number(x.toFixed(digits)));

/** Busy and total jiffies of the whole machine (/proc/stat); null off Linux. */
function machineJiffies(): { busy: number; total: number } | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

/** CPU jiffies (user + system, children reaped included) of `root` and all its live descendants. */
function treeJiffies(root: number): number {
  const parent = new Map<number, number>();
  const used = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      // fields after the name: state ppid … utime(12) stime(13) cutime(14) cstime(15), 0-based from state
      parent.set(Number(d), Number(f[1]));
      used.set(Number(d), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    } catch {
      /* exited meanwhile */
    }
  }
  let sum = 0;
  for (const [pid, j] of used) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === root) {
        sum += j;
        break;
      }
    }
  }
  return sum;
}

async function waitForServer(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not come up within ${ms} ms`);
}

function parseVariant(v: string): { backend: string; threads: number | 'default' | null } {
  const [backend, t] = v.split(':');
  if (!t) return { backend, threads: backend === 'wasm' ? 'default' : null };
  return { backend, threads: t === 'default' ? 'default' : Number(t) };
}

async function runOnce(browser: Browser, base: string, variant: string, browserPid: number | null): Promise<Repeat> {
  const { backend, threads } = parseVariant(variant);
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && console.error(`[page] ${m.text()}`));
  const m0 = machineJiffies();
  const c0 = browserPid ? treeJiffies(browserPid) : 0;
  await page.goto(
    `${base}/bench/browser/bench.html?backends=${backend}&steps=${steps}&batch=${batch}&seq=${seq}` +
      (typeof threads === 'number' ? `&threads=${threads}` : ''),
  );
  await page.waitForFunction(
    () => (window as unknown as { __bench?: { done: boolean } }).__bench?.done === true,
    undefined,
    { timeout: 30 * 60_000, polling: 250 },
  );
  const m1 = machineJiffies();
  const c1 = browserPid ? treeJiffies(browserPid) : 0;
  const bench = (await page.evaluate(() => (window as unknown as { __bench: unknown }).__bench)) as {
    error?: string;
    results: {
      threads?: number;
      threadedBuild?: boolean;
      tokensPerS: number | null;
      msPerStep: number | null;
      firstStepAtMs: number | null;
      initMs: number | null;
      stepMs: number[];
      error?: string;
    }[];
  };
  await context.close();
  const r = bench.results[0];
  const ncpu = cpus().length;
  let otherCores: number | null = null;
  if (m0 && m1 && browserPid && m1.total > m0.total) {
    const wall = (m1.total - m0.total) / ncpu;
    otherCores = Math.max(0, (m1.busy - m0.busy - (c1 - c0)) / wall);
  }
  return {
    threads: r?.threads ?? null,
    threadedBuild: r?.threadedBuild ?? null,
    tokensPerS: round(r?.tokensPerS ?? null),
    msPerStep: round(r?.msPerStep ?? null),
    pageToFirstStepMs: round(r?.firstStepAtMs ?? null),
    initMs: round(r?.initMs ?? null),
    stepMs: r?.stepMs ?? [],
    otherCores: round(otherCores, 2),
    ...((bench.error ?? r?.error) ? { error: bench.error ?? r?.error } : {}),
  };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const server = spawn(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CLO_BENCH_PAGE: '1' } },
  );
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForServer(base, 30_000);
    const browser = await chromium.launch({
      executablePath,
      args: [
        '--enable-unsafe-webgpu',
        '--use-webgpu-adapter=swiftshader',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    const browserPid = findBrowserPid();
    const started = Date.now();
    const load1 = loadavg()[0];
    const perVariant = new Map<string, Repeat[]>(variants.map((v) => [v, []]));
    for (let i = 0; i < repeats; i++) {
      const order = i % 2 ? [...variants].reverse() : variants;
      for (const v of order) {
        const r = await runOnce(browser, base, v, browserPid);
        perVariant.get(v)!.push(r);
        console.error(
          `[${label}] ${v} #${i + 1}: threads ${r.threads}, ${r.tokensPerS} tokens/s, ${r.msPerStep} ms/step, ` +
            `first step at ${r.pageToFirstStepMs} ms, other processes ${r.otherCores} cores${r.error ? `, error: ${r.error}` : ''}`,
        );
      }
    }
    await browser.close();
    const summaries: VariantSummary[] = variants.map((v) => {
      const reps = perVariant.get(v)!;
      const { backend, threads } = parseVariant(v);
      return {
        variant: v,
        backend,
        threadsRequested: threads,
        threads: reps.find((r) => r.threads !== null)?.threads ?? null,
        tokensPerS: round(median(reps.map((r) => r.tokensPerS))),
        msPerStep: round(median(reps.map((r) => r.msPerStep))),
        pageToFirstStepMs: round(median(reps.map((r) => r.pageToFirstStepMs))),
        repeats: reps,
      };
    });
    const run = {
      label,
      date: new Date().toISOString(),
      commit: gitCommit(),
      browser: `Chromium (${executablePath})`,
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg1AtStart: round(load1, 2) },
      model: 'stories260K',
      workload: {
        objective: 'clo',
        batchSize: batch,
        maxSeqLen: seq,
        steps,
        data: 'paired_alpaca_koalpaca_en_ko.jsonl',
        note: 'tokensPerS and msPerStep leave the first (warm-up) step out; values are medians over the repeats',
      },
      repeats,
      wallMs: Date.now() - started,
      variants: summaries,
    };
    const doc = readDoc(outFile);
    doc.runs = [...doc.runs.filter((r) => r.label !== label), run];
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, JSON.stringify(doc, null, 2) + '\n');
    console.log(JSON.stringify(run, null, 2));
    return summaries.some((s) => s.repeats.some((r) => r.error)) ? 1 : 0;
  } finally {
    server.kill();
  }
}

function readDoc(file: string): { about: string; runs: { label: string }[] } {
  const about =
    'bench/browser-bench.ts: CLO training steps of stories260K in a Chromium worker; one entry per labelled run';
  if (!existsSync(file)) return { about, runs: [] };
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { about?: string; runs?: { label: string }[] };
  return { about: doc.about ?? about, runs: Array.isArray(doc.runs) ? doc.runs : [] };
}

/** The Chromium process Playwright started (a child of this process; null when /proc is unreadable). */
function findBrowserPid(): number | null {
  try {
    let best: number | null = null;
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
        if (!cmd.includes('chromium') || cmd.includes('--type=')) continue;
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === process.pid && (best === null || Number(d) > best)) best = Number(d);
      } catch {
        /* exited meanwhile */
      }
    }
    return best;
  } catch {
    return null;
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`browser-bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
