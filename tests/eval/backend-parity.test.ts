import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/lib/eval/run-eval';
import { kobestSentineg } from '../../src/lib/eval/tasks';
import type { DataSource } from '../../src/lib/eval/data';
import { enableNodeWebgpu } from '../../cli/node-env';
import { loadStories, ROOT } from '../helpers/helpers';

const source: DataSource = {
  label: 'public/data',
  read: async (rel) => new Uint8Array(readFileSync(resolve(ROOT, 'public/data', `${rel}.gz`))),
};

// Dawn needs a Vulkan driver (LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=… set before Node starts).
const gpu = await enableNodeWebgpu();
if (!gpu)
  console.warn(
    'eval-backend-parity: skipped, no WebGPU adapter in this Node (Dawn found no Vulkan driver; see docs/webgpu-here.md)',
  );

describe.skipIf(!gpu)('evaluation backend parity', () => {
  it('cpu and webgpu give the same logliks within 1e-3', async () => {
    await tf.setBackend('cpu');
    const m = loadStories(); // weights created on cpu; tfjs moves them when the backend changes
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      await tf.ready();
      expect(tf.getBackend()).toBe(backend);
      return evaluate(m, [kobestSentineg], { source, limit: 3 });
    };
    const cpu = await run('cpu');
    const webgpu = await run('webgpu');
    const a = cpu.results.kobest_sentineg.items.flatMap((i) => i.loglik);
    const b = webgpu.results.kobest_sentineg.items.flatMap((i) => i.loglik);
    expect(a).toHaveLength(6);
    a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(1e-3));
    await tf.setBackend('cpu');
  });
});
