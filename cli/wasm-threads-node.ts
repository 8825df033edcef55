/**
 * Threads for tfjs-backend-wasm under Node.
 *
 * tfjs-backend-wasm 4.22 answers `WASM_HAS_MULTITHREAD_SUPPORT = false` under Node (tfjs issue 3830)
 * because its threaded build starts Emscripten's pthread workers from `blob:` URLs, which Node's
 * worker_threads cannot load (ERR_WORKER_PATH). The Emscripten worker script itself runs under Node.
 * This module bridges the gap before the backend starts:
 *  - `Blob`s made while the backend starts remember their text, and `URL.createObjectURL` of such a
 *    Blob writes that text to a temporary .cjs file and returns its path (the pthread worker script);
 *  - Emscripten's `Worker` (assigned to the global when the factory runs) is wrapped so that the
 *    module source it posts to each pthread as a Blob is posted as the path of such a file instead,
 *    with the bundle-scope names the factory's text refers to (fs, path, commonjsGlobal) defined.
 * Then the flag is set to true and XNNPACK gets `threads` threads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const SOURCE = Symbol('clo-lab:blob-source');
/** Names the threaded factory's text uses from the Node bundle's scope. */
const FACTORY_PRELUDE =
  "var require$$0 = require('fs'), require$$1 = require('path'), commonjsGlobal = globalThis;\n" +
  'var __dirname = ' +
  JSON.stringify(process.cwd()) +
  ', _scriptDir = undefined;\n';

let dir: string | null = null;
const written = new Map<string, string>();
/** The path of a temporary .cjs file holding `text` (one file per distinct text, removed at exit). */
function writeTemp(text: string): string {
  let p = written.get(text);
  if (p) return p;
  if (!dir) {
    const d = mkdtempSync(join(tmpdir(), 'clo-lab-wasm-'));
    dir = d;
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  p = join(dir, `part-${written.size}.cjs`);
  writeFileSync(p, text);
  written.set(text, p);
  return p;
}

/**
 * Every pthread worker made. They stay referenced while the backend starts (its start waits on their
 * messages); once it has started they are unreferenced, since XNNPACK's pool threads wait forever and
 * must not keep the process alive after the work is done.
 */
const pthreads: { unref(): void }[] = [];

let installed = false;
function install(): void {
  if (installed) return;
  installed = true;
  const NodeBlob = globalThis.Blob;
  class TextBlob extends NodeBlob {
    [SOURCE]: string;
    constructor(parts: BlobPart[] = [], opts?: BlobPropertyBag) {
      super(parts, opts);
      this[SOURCE] = parts.every((p) => typeof p === 'string') ? (parts as string[]).join('') : '';
    }
  }
  globalThis.Blob = TextBlob as typeof Blob;
  const createObjectURL = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (obj: Blob) => {
    const src = (obj as Partial<TextBlob>)[SOURCE];
    return src ? writeTemp(src) : createObjectURL(obj);
  };
  let current: unknown = (globalThis as { Worker?: unknown }).Worker;
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    get: () => current,
    set(W: new (path: string) => { postMessage(m: unknown, t?: unknown): void }) {
      if (typeof W !== 'function' || (W as { [SOURCE]?: boolean })[SOURCE]) {
        current = W;
        return;
      }
      class PthreadWorker extends W {
        static [SOURCE] = true;
        constructor(path: string) {
          super(path);
          pthreads.push(this as unknown as { unref(): void });
        }
        override postMessage(msg: unknown, transfer?: unknown): void {
          const m = msg as { cmd?: string; urlOrBlob?: unknown };
          if (m && m.cmd === 'load' && m.urlOrBlob instanceof TextBlob)
            msg = { ...m, urlOrBlob: writeTemp(FACTORY_PRELUDE + m.urlOrBlob[SOURCE]) };
          super.postMessage(msg, transfer);
        }
      }
      current = PthreadWorker;
    },
  });
}

/**
 * Call before `tf.setBackend('wasm')`; call the returned function once the backend has started.
 * tfjs's C++ side caps XNNPACK's pool at half the logical cores Emscripten reports (`os.cpus()` under
 * Node), i.e. one thread on a 2-core machine whatever setThreadsCount asks; while the backend starts,
 * `os.cpus()` therefore reports 2 × `threads` entries, so that setThreadsCount decides.
 */
export function enableNodeWasmThreads(threads = availableParallelism()): () => void {
  if (threads <= 1) return () => {};
  install();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  const cpus = os.cpus;
  os.cpus = () => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]);
  };
  return () => {
    os.cpus = cpus;
    for (const w of pthreads) w.unref();
  };
}

/**
 * Threads to ask for: `CLO_LAB_WASM_THREADS` when set (1 = single-threaded), else every core
 * (`os.availableParallelism()`).
 */
export function nodeWasmThreadsWanted(): number {
  const env = Number(process.env.CLO_LAB_WASM_THREADS);
  return Number.isFinite(env) && env >= 1 ? Math.floor(env) : availableParallelism();
}

/** Threads XNNPACK actually uses (after the wasm backend started), or 1 when it did not start threaded. */
export function wasmThreadsInUse(): number {
  try {
    return getThreadsCount();
  } catch {
    return 1;
  }
}
