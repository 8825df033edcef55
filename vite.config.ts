import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

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

/** Writes precache-manifest.json (every built file and public file) for the hand-written service worker (public/sw.js). */
function precacheManifest(): Plugin {
  let outDir = 'dist';
  let publicDir = 'public';
  return {
    name: 'clo-lab:precache-manifest',
    apply: 'build',
    configResolved(cfg) {
      outDir = cfg.build.outDir;
      publicDir = cfg.publicDir;
    },
    generateBundle(_opts, bundle) {
      const urls = new Set<string>(['/', '/index.html']);
      for (const name of Object.keys(bundle)) {
        if (!name.endsWith('.map')) urls.add('/' + name);
      }
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir)) {
          const p = join(dir, entry);
          if (statSync(p).isDirectory()) walk(p);
          else urls.add('/' + relative(publicDir, p).split(sep).join('/'));
        }
      };
      try {
        walk(publicDir);
      } catch {
        /* no public dir */
      }
      urls.delete('/sw.js');
      const version = Date.now().toString(36);
      this.emitFile({
        type: 'asset',
        fileName: 'precache-manifest.json',
        source: JSON.stringify({ version, outDir, urls: [...urls].sort() }, null, 1),
      });
    },
  };
}

export default defineConfig({
  plugins: [svelte(), tfjsWasm(), precacheManifest()],
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rolldownOptions: {
      input: { main: 'index.html', bench: 'bench.html' },
    },
  },
});
