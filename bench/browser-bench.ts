/**
 * Browser bench: serves the production build (vite preview), opens bench.html in Chromium
 * (WebGPU on SwiftShader where there is no GPU) and records tokens/s per backend and the time from
 * page load to the first finished training step. Writes bench/results/browser.json.
 *
 *   npx vite build && npx tsx bench/browser-bench.ts [--backends webgpu,wasm,cpu] [--steps 4] [--batch 2] [--seq 64] [--threads N] [--out file]
 * (--threads: wasm threads; default half the logical cores, as tfjs; --threads 2 on a 2-vCPU machine uses both)
 */
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const backends = flag('backends', 'webgpu,wasm,cpu');
const steps = Number(flag('steps', '4'));
const port = Number(flag('port', '4174'));
const batch = Number(flag('batch', '2'));
const seq = Number(flag('seq', '64'));
const threads = flag('threads', '');
const outFile = flag('out', 'bench/results/browser.json');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

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

async function main(): Promise<number> {
  const server = spawn(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
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
    const page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && console.error(`[page] ${m.text()}`));
    const started = Date.now();
    await page.goto(
      `${base}/bench.html?backends=${backends}&steps=${steps}&batch=${batch}&seq=${seq}${threads ? `&threads=${threads}` : ''}`,
    );
    await page.waitForFunction(
      () => (window as unknown as { __bench?: { done: boolean } }).__bench?.done === true,
      undefined,
      { timeout: 30 * 60_000, polling: 1000 },
    );
    const bench = await page.evaluate(() => (window as unknown as { __bench: unknown }).__bench);
    await browser.close();
    const doc = {
      date: new Date().toISOString(),
      browser: `Chromium (${executablePath})`,
      machine: { cpus: cpus().length, model: cpus()[0]?.model },
      model: 'stories260K',
      workload: {
        objective: 'clo',
        batchSize: batch,
        maxSeqLen: seq,
        steps,
        data: 'paired_alpaca_koalpaca_en_ko.jsonl',
      },
      wallMs: Date.now() - started,
      ...(bench as object),
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(outFile, JSON.stringify(doc, null, 2) + '\n');
    console.log(JSON.stringify(doc, null, 2));
    return 0;
  } finally {
    server.kill();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`browser-bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
