/**
 * Every worker job goes through the job runtime (workers/host/jobs.ts, workers/host/job-worker.ts):
 * workers are created only in workers/host/registry.ts, one `new Worker` per worker file; every worker
 * file serves its jobs with `serveJobs(...)` and handles no raw messages itself; the per-worker
 * clients the runtime replaced are gone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles, ROOT } from '../helpers/helpers';

const REGISTRY = 'workers/host/registry.ts';

const rel = (p: string) => relative(ROOT, p).split(sep).join('/');
const sources = () =>
  ['src', 'workers']
    .flatMap((d) => listFiles(resolve(ROOT, d), /\.(ts|svelte)$/))
    .map((p) => ({
      path: rel(p),
      text: readFileSync(p, 'utf8'),
    }));
/** code without comments, so a doc line that names `new Worker(` does not count */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

describe('job runtime', () => {
  it('creates workers only in the registry, one site per worker file', () => {
    const sites = sources().flatMap((f) =>
      [...code(f.text).matchAll(/new Worker\(\s*new URL\(\s*'([^']+)'/g)].map((m) => ({ path: f.path, url: m[1] })),
    );
    const elsewhere = sources().filter((f) => f.path !== REGISTRY && /new Worker\s*\(/.test(code(f.text)));
    expect(elsewhere.map((f) => f.path)).toEqual([]);
    const workerFiles = listFiles(resolve(ROOT, 'workers'), /\.worker\.ts$/).map(rel);
    const created = sites.map((s) => rel(resolve(ROOT, 'workers/host', s.url)));
    expect(created.sort()).toEqual(workerFiles);
  });

  it('every worker file serves its jobs with serveJobs and handles no raw messages', () => {
    const workerFiles = listFiles(resolve(ROOT, 'workers'), /\.worker\.ts$/);
    expect(workerFiles.length).toBeGreaterThanOrEqual(4);
    for (const p of workerFiles) {
      const c = code(readFileSync(p, 'utf8'));
      expect(c, rel(p)).toMatch(/^serveJobs(<[^(]*>)?\(/m);
      expect(c, rel(p)).not.toMatch(/\bonmessage\b|addEventListener\(\s*'message'|\.postMessage\(/);
    }
  });

  it('no store or view talks to a worker except through the registry clients', () => {
    const ui = sources().filter((f) => f.path.startsWith('src/ui/') || f.path === 'src/App.svelte');
    const raw = ui.filter((f) => /\.postMessage\(|\bonmessage\b/.test(code(f.text)));
    expect(raw.map((f) => f.path)).toEqual([]);
  });

  it('the per-worker clients the runtime replaced are gone', () => {
    for (const p of [
      'workers/host/job-client.ts',
      'workers/train/client.ts',
      'workers/eval/client.ts',
      'workers/vocab/client.ts',
      'src/ui/stores/worker.ts',
    ])
      expect(existsSync(resolve(ROOT, p)), p).toBe(false);
  });
});
