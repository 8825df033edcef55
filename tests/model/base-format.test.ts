/**
 * The frozen base choice (src/lib/model/base-format.ts): 'auto' is int8 above 100M parameters and f32
 * below; the memory guard's weights for a packed base (model/memory.ts weightBytes) are the packed bytes
 * of the block matrices beside the f32 rest, with no Wᵀ copies of them; the spec's key tells bases apart.
 */
import { describe, expect, it } from 'vitest';
import { defaultBaseFormat, resolveBase } from '../../src/lib/model/base-format';
import { BIG_6L, QWEN25_05B, SMOLLM2_135M } from '../../src/lib/model/reference-shapes';
import { blockMatrices, keptCopies, weightBytes } from '../../src/lib/model/memory';
import { countParams } from '../../src/lib/model/config';
import { specKey } from '../../src/lib/formats/model-spec';

describe('frozen base choice', () => {
  it("'auto' is int8 above 100M parameters, f32 below; a format asked for is kept", () => {
    expect(defaultBaseFormat(SMOLLM2_135M)).toBe('int8');
    expect(defaultBaseFormat(QWEN25_05B)).toBe('int8');
    expect(defaultBaseFormat(BIG_6L)).toBe('f32');
    expect(resolveBase('auto', BIG_6L)).toBe('f32');
    expect(resolveBase(undefined, QWEN25_05B)).toBe('int8');
    expect(resolveBase('f16', QWEN25_05B)).toBe('f16');
  });

  it('weightBytes: packed block matrices (int8: a byte a value and a scale a row; f16: 2 bytes) and no Wᵀ copies of them', () => {
    const c = QWEN25_05B;
    const m = blockMatrices(c);
    const rest = 4 * (countParams(c) - m.values);
    const copies = keptCopies(c, 'int8');
    expect(weightBytes(c, 'int8', 'wasm', true)).toBe(rest + m.values + 4 * m.rows + copies);
    expect(weightBytes(c, 'f16', 'wasm', true)).toBe(rest + 2 * m.values + copies);
    // where the kernel does not run, the reference path's dequantised copies count too
    expect(weightBytes(c, 'int8', 'wasm', false)).toBe(rest + m.values + 4 * m.rows + copies + 4 * m.values);
    expect(weightBytes(c, 'f32', 'wasm')).toBe(4 * countParams(c) + keptCopies(c));
    // 24 layers: q 896 + k 128 + v 128 + o 896 + gate/up 2·4864 + down 896 rows each
    expect(m.rows).toBe(24 * (896 + 128 + 128 + 896 + 2 * 4864 + 896));
    // the int8 0.5B's weights fit well inside the wasm heap; its f32 weights alone take over 2 GiB
    expect(weightBytes(c, 'int8', 'wasm', true)).toBeLessThan(1.5 * 2 ** 30);
    expect(weightBytes(c, 'f32', 'wasm')).toBeGreaterThan(2 * 2 ** 30);
  });

  it('the spec key differs by base (a reload), and an absent or auto base keeps the old key', () => {
    expect(specKey({ kind: 'embedded', base: 'int8' })).not.toBe(specKey({ kind: 'embedded' }));
    expect(specKey({ kind: 'embedded', base: 'auto' })).toBe(specKey({ kind: 'embedded' }));
  });
});
