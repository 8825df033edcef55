/**
 * The GPU bench folder (`npm run bench:gpu-bundle`): built without the Node binary (the one part that
 * is a plain copy), moved out of the repository so nothing resolves from its node_modules, and run
 * with this Node on Dawn over SwiftShader: one SFT row on stories260K, reported as a software adapter.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';

describe('GPU bench bundle', () => {
  const work = mkdtempSync(join(tmpdir(), 'gpu-bundle-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('builds the folder and runs one WebGPU step from it, outside the repository', () => {
    // inside the repository (so the build resolves its node_modules), away from dist/, which vite build may empty meanwhile
    const built = join(ROOT, 'node_modules', '.cache', `gpu-bench-test-${process.pid}`);
    try {
      execFileSync('node', ['--import', 'tsx', 'scripts/gpu-bundle.ts', '--out', built, '--skip-node'], {
        cwd: ROOT,
        stdio: 'pipe',
      });
      cpSync(built, join(work, 'b'), { recursive: true });
    } finally {
      rmSync(built, { recursive: true, force: true });
    }
    const b = join(work, 'b');
    for (const f of ['gpu-bench.mjs', 'run.sh', 'torch_gpu.py', 'lib/libvulkan.so.1', 'models/stories260K/tok512.bin'])
      expect(existsSync(join(b, f)), f).toBe(true);
    const dawn = join(b, 'node_modules/webgpu/dist/linux-x64/dawn.node');
    writeFileSync(dawn, gunzipSync(new Uint8Array(readFileSync(`${dawn}.gz`))));

    expect(existsSync(SWIFTSHADER), `${SWIFTSHADER} (Debian's chromium) is needed for this test`).toBe(true);
    const out = execFileSync(
      process.execPath,
      [
        'gpu-bench.mjs',
        '--configs',
        'stories260K',
        '--objectives',
        'sft',
        '--batch',
        '1',
        '--seq',
        '8',
        '--steps',
        '1',
      ],
      {
        cwd: b,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          LD_LIBRARY_PATH: `${join(b, 'lib')}:/usr/lib/chromium`,
          VK_ICD_FILENAMES: SWIFTSHADER,
        },
        timeout: 240_000,
      },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row.error).toBeUndefined();
    expect(row).toMatchObject({
      engine: 'clo-lab',
      backend: 'webgpu',
      config: 'stories260K',
      objective: 'sft',
      gpu: false,
    });
    expect(row.tokens_per_s as number).toBeGreaterThan(0);
    // a whole step counted: with the fused ops stories260K's SFT step is 56 dispatches on SwiftShader (5 layers)
    expect(row.dispatches_per_step as number).toBeGreaterThan(30);
    expect(row.readbacks_per_step as number).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
