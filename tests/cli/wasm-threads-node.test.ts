import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const ROOT = resolve(__dirname, '../..');
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

/** Runs a script under tsx in a fresh process (the wasm backend starts once per process). */
function run(threads: number): {
  threads: number;
  sum: number;
  first: number[];
  attention: number[];
  inPlace: boolean;
  helperJobs: number;
} {
  const dir = mkdtempSync(join(tmpdir(), 'clo-threads-'));
  const script = join(dir, 'probe.mts');
  writeFileSync(
    script,
    `import * as tf from ${JSON.stringify(createRequire(join(ROOT, 'package.json')).resolve('@tensorflow/tfjs'))};
import { initNodeBackend } from ${JSON.stringify(join(ROOT, 'cli/node-env.ts'))};
import { wasmThreadsInUse } from ${JSON.stringify(join(ROOT, 'cli/wasm-threads-node.ts'))};
await initNodeBackend('wasm', () => {}, { threads: ${threads} });
const a = tf.tensor2d(Array.from({ length: 96 * 80 }, (_, i) => Math.sin(i)), [96, 80]);
const b = tf.tensor2d(Array.from({ length: 80 * 64 }, (_, i) => Math.cos(i * 0.7)), [80, 64]);
const y = tf.matMul(a, b).dataSync();
// the attention kernel in place on the heap (shared when threaded), on the helper thread when one is ready
const { attentionHeads } = await import(${JSON.stringify(join(ROOT, 'src/lib/model/kernels/attention/attention.ts'))});
const { attentionHelperJobs } = await import(${JSON.stringify(join(ROOT, 'src/lib/model/kernels/attention/threads.ts'))});
const { heapOf } = await import(${JSON.stringify(join(ROOT, 'src/lib/model/kernels/wasm-heap.ts'))});
const [B, T, H, hd] = [2, 24, 4, 8];
const q = tf.randomNormal([B, T, H, hd], 0, 1, 'float32', 1);
const k = tf.randomNormal([B, T, H, hd], 0, 1, 'float32', 2);
const v = tf.randomNormal([B, T, H, hd], 0, 1, 'float32', 3);
const bias = tf.tensor3d(Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -1e9 : 0)), [1, T, T]);
const loss = (a, b, c) => tf.sum(tf.mul(attentionHeads(a, b, c, bias, 0.35), tf.range(0, B * T * H * hd).reshape([B * T, H * hd]).mod(7)));
const heap = heapOf(tf.backend());
const attention = [];
for (let i = 0; i < 20; i++) {
  const g = tf.grads(loss)([q, k, v]);
  if (i === 19) for (const t of g) attention.push(...Array.from(t.dataSync().slice(0, 64)));
  tf.dispose(g);
  await new Promise((r) => setTimeout(r, 20)); // lets the helper thread start
}
console.log(JSON.stringify({ threads: wasmThreadsInUse(), sum: y.reduce((s, v) => s + v, 0), first: Array.from(y.slice(0, 5)), attention, inPlace: !!heap, helperJobs: attentionHelperJobs(heap.memory) }));
`,
  );
  // no process.exit in the script: it must end by itself (the pool's threads must not keep it alive)
  const out = execFileSync(process.execPath, [tsx, script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('wasm threads under Node', () => {
  it('starts the threaded build with the threads asked for, gives the single-thread numbers (products, attention on a helper thread), and exits', () => {
    const one = run(1);
    const two = run(2);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(two.first).toEqual(one.first);
    expect(two.sum).toBe(one.sum);
    // attention in place on the heap; threaded: split with a helper thread, the same bits
    expect(one.inPlace && two.inPlace).toBe(true);
    expect(one.helperJobs).toBe(0);
    expect(two.helperJobs).toBeGreaterThan(0);
    expect(two.attention.length).toBe(3 * 64);
    expect(two.attention).toEqual(one.attention);
  }, 120_000);
});
