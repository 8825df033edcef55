/**
 * The engine's import graph (src/lib), read with TypeScript's own import scanner (ts.preProcessFile,
 * which sees `import type`, re-exports and dynamic imports too):
 * - no import cycles between files of src/lib;
 * - modules import only modules of a lower layer (LAYERS below) or themselves;
 * - src/lib imports no Node built-in, no DOM-only or UI package, nothing from src/ui or workers,
 *   and no .svelte file, so it runs unchanged in Node and in a browser worker.
 */
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/helpers';

const LIB = resolve(ROOT, 'src/lib');

/**
 * Layer of each src/lib module: a module may import modules of a strictly lower layer (and itself).
 * Modules on one layer are peers and do not import each other.
 */
const LAYERS: Record<string, number> = {
  backend: 0,
  tokenizer: 0,
  data: 0,
  model: 1, // decoder, forward, generate, score, batching
  lora: 2, // adapters on the model's linears
  objectives: 3, // losses over model (+ lora) outputs
  train: 4, // trainer, optimizer, schedule: objective-blind
  store: 5, // persistence of runs (train configs) and datasets
  eval: 6,
  formats: 6,
  translate: 6,
  experiment: 8, // recipes and the runner over train + eval + vocab
  vocab: 7, // vocabulary extension: token learning, tokenizer and model growth, SALT/mean/random init
};

/** Packages that only exist in (or only make sense for) the DOM/UI side. */
const UI_ONLY_PACKAGES = ['svelte', 'uplot'];

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (/\.(ts|js|mjs)$/.test(e) && !e.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

const rel = (p: string) => relative(LIB, p).split(sep).join('/');
const moduleOf = (relPath: string) => relPath.split('/')[0];

function resolveRelative(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  for (const cand of [base, `${base}.ts`, `${base}.js`, join(base, 'index.ts')]) {
    if (existsSync(cand) && statSync(cand).isFile()) return cand;
  }
  return base; // unresolved: reported as what it points at
}

interface Edge {
  from: string; // path under src/lib
  spec: string;
  to: string | null; // path under src/lib, or null for packages and paths outside src/lib
  target: string; // absolute path for relative imports, the package name otherwise
}

function scan(): { files: string[]; edges: Edge[] } {
  const files = listTs(LIB);
  const edges: Edge[] = [];
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
    for (const imp of info.importedFiles) {
      const spec = imp.fileName;
      if (spec.startsWith('.')) {
        const abs = resolveRelative(f, spec);
        const inside = abs.startsWith(LIB + sep);
        edges.push({ from: rel(f), spec, to: inside ? rel(abs) : null, target: abs });
      } else {
        edges.push({ from: rel(f), spec, to: null, target: spec });
      }
    }
  }
  return { files: files.map(rel), edges };
}

/** Upward or sideways imports between src/lib modules, as "from -> to" strings. */
function layerViolations(edges: Edge[]): string[] {
  const out: string[] = [];
  for (const e of edges) {
    if (!e.to) continue;
    const a = moduleOf(e.from);
    const b = moduleOf(e.to);
    if (a === b) continue;
    if (!(a in LAYERS) || !(b in LAYERS) || LAYERS[b] >= LAYERS[a]) out.push(`${e.from} -> ${e.to}`);
  }
  return [...new Set(out)].sort();
}

/** Strongly connected components of more than one file (or a file importing itself): the cycles. */
function cycles(files: string[], edges: Edge[]): string[][] {
  const adj = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) if (e.to && adj.has(e.to)) adj.get(e.from)!.push(e.to);
  // Tarjan's algorithm
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of adj.get(v)!) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || adj.get(v)!.includes(v)) out.push(comp.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  return out;
}

describe('src/lib import graph', () => {
  const { files, edges } = scan();

  it('scans the engine (sanity: files and imports found, every src/lib module has a layer)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(edges.filter((e) => e.to).length).toBeGreaterThan(50);
    const modules = [...new Set(files.map(moduleOf))].filter((m) => !m.includes('.'));
    expect(
      modules.filter((m) => !(m in LAYERS)),
      'add new src/lib modules to LAYERS',
    ).toEqual([]);
  });

  it('no upward or sideways imports between layers', () => {
    expect(layerViolations(edges), 'imports against the layer order').toEqual([]);
  });

  it('no import cycles between files', () => {
    expect(cycles(files, edges)).toEqual([]);
  });

  it('no Node built-ins, UI packages, src/ui, workers or .svelte files', () => {
    const node = new Set(builtinModules);
    const bad = edges.filter((e) => {
      if (e.spec.startsWith('node:') || node.has(e.spec.split('/')[0])) return true;
      if (UI_ONLY_PACKAGES.some((p) => e.spec === p || e.spec.startsWith(`${p}/`))) return true;
      if (e.spec.endsWith('.svelte')) return true;
      if (e.spec.startsWith('.') && !e.to) return true; // leaves src/lib: src/ui, workers, cli, ...
      return false;
    });
    expect(bad.map((e) => `${e.from} imports ${e.spec}`)).toEqual([]);
  });

  it('the checks catch what they are for (planted graph)', () => {
    const e = (from: string, to: string): Edge => ({ from, spec: '', to, target: '' });
    expect(
      layerViolations([e('model/a.ts', 'lora/b.ts'), e('lora/b.ts', 'model/a.ts'), e('eval/x.ts', 'formats/y.ts')]),
    ).toEqual(['eval/x.ts -> formats/y.ts', 'model/a.ts -> lora/b.ts']);
    expect(cycles(['a', 'b', 'c'], [e('a', 'b'), e('b', 'c'), e('c', 'a')])).toEqual([['a', 'b', 'c']]);
    expect(cycles(['a', 'b'], [e('a', 'b')])).toEqual([]);
  });
});
