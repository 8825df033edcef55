import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';

const ROOT = resolve(__dirname, '../..');
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

/** Runs a script under tsx in a fresh process (the wasm backend starts once per process). */
function run(threads: number): { threads: number; sum: number; first: number[] } {
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
console.log(JSON.stringify({ threads: wasmThreadsInUse(), sum: y.reduce((s, v) => s + v, 0), first: Array.from(y.slice(0, 5)) }));
`,
  );
  // no process.exit in the script: it must end by itself (the pool's threads must not keep it alive)
  const out = execFileSync(process.execPath, [tsx, script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('wasm threads under Node', () => {
  it('starts the threaded build with the threads asked for, gives the single-thread numbers, and exits', () => {
    const one = run(1);
    const two = run(2);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(two.first).toEqual(one.first);
    expect(two.sum).toBe(one.sum);
  }, 120_000);
});
