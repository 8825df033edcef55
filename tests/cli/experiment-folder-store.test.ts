/**
 * The CLI's experiment store keeps bytes (an arm's checkpoint.safetensors) as `.state/<key>.safetensors`
 * and other records as JSON; a key holds one or the other, and del removes either.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderExperimentStore } from '../../cli/experiment-folder-store';

describe('folderExperimentStore', () => {
  it('stores bytes as a .safetensors file and records as JSON, one per key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clo-expstore-'));
    const s = folderExperimentStore(dir);
    const bytes = Uint8Array.from([1, 2, 3, 250]);
    await s.set('e', 'ckpt/arm-a', bytes);
    expect(existsSync(join(dir, '.state', 'ckpt_arm-a.safetensors'))).toBe(true);
    const back = await s.get<Uint8Array>('e', 'ckpt/arm-a');
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Array.from(back!)).toEqual([1, 2, 3, 250]);
    await s.set('e', 'ckpt/arm-a', { step: 3, m: new Float32Array([0.5]) });
    expect(existsSync(join(dir, '.state', 'ckpt_arm-a.safetensors'))).toBe(false);
    expect(await s.get('e', 'ckpt/arm-a')).toEqual({ step: 3, m: new Float32Array([0.5]) });
    await s.set('e', 'ckpt/arm-a', bytes);
    await s.del('e', 'ckpt/arm-a');
    expect(await s.get('e', 'ckpt/arm-a')).toBeUndefined();
  });
});
