import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { VitePWA } from 'vite-plugin-pwa';

/** Cross-origin isolation: lets the tfjs wasm backend use threads (SharedArrayBuffer). */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

const WASM_DIR = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
const WASM_URL = '/tfjs-wasm/';

/** Serves the tfjs wasm binaries at /tfjs-wasm/ in dev and emits them into the build (never committed). */
function tfjsWasm(): Plugin {
  const files = () => readdirSync(WASM_DIR).filter((f) => f.endsWith('.wasm'));
  return {
    name: 'clo-lab:tfjs-wasm',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = req.url?.split('?')[0] ?? '';
        if (!url.startsWith(WASM_URL)) return next();
        const name = url.slice(WASM_URL.length);
        if (!files().includes(name)) return next();
        res.setHeader('Content-Type', 'application/wasm');
        res.end(readFileSync(join(WASM_DIR, name)));
      });
    },
    generateBundle() {
      for (const f of files()) {
        this.emitFile({ type: 'asset', fileName: `tfjs-wasm/${f}`, source: readFileSync(join(WASM_DIR, f)) });
      }
    },
  };
}

/**
 * Makes tfjs's threaded SIMD wasm build survive minification.
 *
 * Why it breaks: tfjs starts each pthread worker from `wasmFactoryThreadedSimd.toString()` (see
 * `init()` in @tensorflow/tfjs-backend-wasm/dist/backend_wasm.js), i.e. from the factory's source text
 * without its closure. Emscripten wraps that factory in an IIFE that declares `var _scriptDir`, and
 * the factory reads it behind a guard: `typeof _scriptDir !== "undefined" && _scriptDir`. Unminified,
 * the guard makes the missing closure harmless in the pthread. The minifier renames `_scriptDir` to
 * `e` and, knowing `e` is declared, folds the guard to `e !== void 0 && e`: in the pthread worker
 * that is `ReferenceError: e is not defined at WasmBackendModuleThreadedSimd`.
 *
 * Fix: drop the closure variable and inline its (browser) value at every use, so the factory's
 * source text is self-contained whatever the minifier does. In a worker `document` is undefined, so
 * the value is `undefined` there, as before. Fails the build if the file's layout ever changes.
 */
function tfjsWasmThreads(): Plugin {
  const prelude =
    /var _scriptDir = [^\n]*\n\s*if \(typeof __filename !== 'undefined'\) _scriptDir = _scriptDir \|\| __filename;\n/;
  const inline = '(typeof document !== "undefined" && document.currentScript ? document.currentScript.src : void 0)';
  return {
    name: 'clo-lab:tfjs-wasm-threads',
    transform(code, id) {
      if (!/tfjs-backend-wasm-threaded-simd\.js$/.test(id.split('?')[0])) return null;
      if (!prelude.test(code))
        this.error(
          'tfjs-backend-wasm-threaded-simd.js changed layout: re-check the threaded wasm fix in vite.config.ts',
        );
      return { code: code.replace(prelude, '').replace(/\b_scriptDir\b/g, inline), map: null };
    },
  };
}

/**
 * The service worker (Workbox, generated at build time): offline after the first load. It precaches
 * every built file and every public file: the app and its workers, the tfjs wasm binaries, the
 * embedded model (public/models/) and the bundled data (public/data/): about 17 MiB in 46 files.
 * The worker bundles (about 2.5 MB each, tfjs inside) are over Workbox's 2 MiB default per file,
 * hence the raised limit (Workbox leaves a file over it out, with a warning). Cached responses
 * keep the COOP/COEP headers the server sent, so a page served by the worker stays cross-origin
 * isolated. A new build's worker takes over at once and drops the old precache.
 */
const PRECACHE_MAX_BYTES = 16 * 2 ** 20;

function serviceWorker(): Plugin[] {
  return VitePWA({
    strategies: 'generateSW',
    filename: 'sw.js',
    injectRegister: false, // src/main.ts registers it
    manifest: false,
    workbox: {
      globPatterns: ['**/*'],
      globIgnores: ['**/*.map', 'sw.js', 'workbox-*.js'],
      maximumFileSizeToCacheInBytes: PRECACHE_MAX_BYTES,
      navigateFallback: 'index.html',
      skipWaiting: true,
      clientsClaim: true,
      cleanupOutdatedCaches: true,
    },
  });
}

/** Builds the browser bench page beside the app (bench/browser-bench.ts sets it). */
const BENCH_PAGE = process.env.CLO_BENCH_PAGE === '1';

export default defineConfig({
  plugins: [svelte(), tfjsWasm(), tfjsWasmThreads(), serviceWorker()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  // workers are bundled by their own plugin pipeline: the threaded-wasm fix must run there too
  worker: { format: 'es', plugins: () => [tfjsWasmThreads()] },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    // the browser bench page is built only for the bench (CLO_BENCH_PAGE=1, into dist-bench), never into the app
    ...(BENCH_PAGE ? { outDir: 'dist-bench' } : {}),
    rolldownOptions: {
      input: BENCH_PAGE ? { main: 'index.html', bench: 'bench/browser/bench.html' } : { main: 'index.html' },
    },
  },
});
