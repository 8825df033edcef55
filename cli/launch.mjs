#!/usr/bin/env node
// Starts a TypeScript entry point (cli/lab.ts, bench/bench.ts) with tsx's loader and the Vulkan environment set.
//
// Signals: the entry runs as `node --import tsx` in a process group of its own, and this launcher is the one
// path signals take to it. SIGINT, SIGTERM and SIGHUP, whether sent to the launcher, to `npm run`, or to the
// whole process group (Ctrl-C), reach the entry exactly once: copies of one signal that arrive together (the
// group's and npm's relay) count once. The entry decides what a signal means (`train` finishes the step and
// saves; a second signal stops it at once). tsx's own command-line runner is not used: it answers a signal
// the busy child has not acknowledged within 30 ms with SIGKILL, which loses the checkpoint.
//
// Node 20 validates WebAssembly relaxed SIMD (the packed-matmul kernel's fused multiply-add) only behind
// --experimental-wasm-relaxed-simd: the entry gets that flag where this Node lacks relaxed SIMD without it
// (newer Node has it on by default and is left as is).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { vulkanEnv } from './vulkan-env.mjs';

const [entry, ...args] = process.argv.slice(2);
const tsxLoader = import.meta.resolve('tsx');
/** A module of one f32x4.relaxed_madd: it validates only where relaxed SIMD is on. */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2,
  253, 133, 2, 11,
]);
const nodeFlags = WebAssembly.validate(RELAXED_PROBE) ? [] : ['--experimental-wasm-relaxed-simd'];
const child = spawn(process.execPath, [...nodeFlags, '--import', tsxLoader, entry, ...args], {
  stdio: 'inherit',
  env: { ...process.env, ...vulkanEnv(), CLO_LAUNCHER_PID: String(process.pid) },
  detached: true,
});
const SIGNUM = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + (SIGNUM[signal] ?? 9) : 0)));
child.on('error', (err) => {
  process.stderr.write(`error: cannot start ${fileURLToPath(new URL(import.meta.url))}: ${err.message}\n`);
  process.exit(1);
});
/** Copies of one signal within this many ms are one signal (a group signal also relayed by npm). */
const SAME_SIGNAL_MS = 400;
let last = { sig: '', at: 0 };
for (const sig of Object.keys(SIGNUM)) {
  process.on(sig, () => {
    const now = Date.now();
    if (last.sig === sig && now - last.at < SAME_SIGNAL_MS) return;
    last = { sig, at: now };
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  });
}
