import { describe, expect, it } from 'vitest';
import {
  readSafetensors,
  writeSafetensors,
  SafetensorsReader,
  MAX_HEADER_BYTES,
} from '../../src/lib/formats/safetensors';
import { floatToHalf, halfToFloat, f32ToBf16, bf16ToF32, f16ToF32 } from '../../src/lib/formats/half';

/** Builds a safetensors file by hand (independent of writeSafetensors): header JSON string + data bytes. */
function rawFile(header: string, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const f32bytes = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);

async function errorOf(bytes: Uint8Array, name = 'bad.safetensors'): Promise<string> {
  try {
    await readSafetensors(bytes, name);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('half precision conversions (known bit patterns)', () => {
  it('F16 encodes and decodes exact values', () => {
    // IEEE 754 binary16 reference patterns
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [0, 0x0000],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
    ];
    for (const [x, h] of cases) {
      expect(floatToHalf(x)).toBe(h);
      expect(halfToFloat(h)).toBe(x);
    }
    expect(floatToHalf(0.1)).toBe(0x2e66); // 0.0999755859375
    expect(floatToHalf(70000)).toBe(0x7c00); // overflow → inf
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });
  it('F16 arrays decode the same through the bulk (table) path', () => {
    const big = new Uint16Array(10000);
    for (let i = 0; i < big.length; i++) big[i] = [0x3c00, 0xc000, 0x0001, 0x7bff][i % 4];
    const out = f16ToF32(big);
    expect([...out.subarray(9996)]).toEqual([1, -2, 2 ** -24, 65504]);
    expect(out[1]).toBe(-2);
  });
  it('BF16 keeps the top 16 bits, rounding to nearest even', () => {
    // 1+2^-8 and 1+3·2^-8 sit exactly halfway between two bf16 values: ties go to the even pattern
    const x = new Float32Array([1, -3.5, 1 + 2 ** -8, 1 + 2 ** -9, 1 + 3 * 2 ** -8, 1 + 2 ** -7]);
    expect([...f32ToBf16(x)]).toEqual([0x3f80, 0xc060, 0x3f80, 0x3f80, 0x3f82, 0x3f81]);
    expect([...bf16ToF32(new Uint16Array([0x3f80, 0xc060, 0x3f81]))]).toEqual([1, -3.5, 1.0078125]);
  });
});

describe('safetensors read', () => {
  it('reads F32, F16, BF16, I32, I64 from a hand-built file and keeps __metadata__', async () => {
    const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3800]).buffer); // 1, -2, 0.5
    const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc060]).buffer); // 1, -3.5
    const i64 = new Uint8Array(new BigInt64Array([7n, -3n]).buffer);
    const i32 = new Uint8Array(new Int32Array([42]).buffer);
    const data = new Uint8Array([...f32bytes([1.5, -2.25, 3, 4]), ...f16, ...bf16, ...i64, ...i32]);
    const header = JSON.stringify({
      __metadata__: { format: 'pt', note: 'x' },
      a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
      b: { dtype: 'F16', shape: [3], data_offsets: [16, 22] },
      c: { dtype: 'BF16', shape: [2, 1], data_offsets: [22, 26] },
      d: { dtype: 'I64', shape: [2], data_offsets: [26, 42] },
      e: { dtype: 'I32', shape: [], data_offsets: [42, 46] },
    });
    const { tensors, metadata } = await readSafetensors(rawFile(header, data));
    expect(metadata).toEqual({ format: 'pt', note: 'x' });
    expect([...tensors.get('a')!.data]).toEqual([1.5, -2.25, 3, 4]);
    expect(tensors.get('a')!.shape).toEqual([2, 2]);
    expect([...tensors.get('b')!.data]).toEqual([1, -2, 0.5]);
    expect([...tensors.get('c')!.data]).toEqual([1, -3.5]);
    expect(tensors.get('d')!.data).toBeInstanceOf(Int32Array);
    expect([...tensors.get('d')!.data]).toEqual([7, -3]);
    expect([...tensors.get('e')!.data]).toEqual([42]);
  });

  it('reads through a chunked source, one tensor per read', async () => {
    const bytes = writeSafetensors({
      x: { shape: [3], data: new Float32Array([1, 2, 3]) },
      y: { shape: [1, 2], data: new Float32Array([5, 6]) },
    });
    const reads: [number, number][] = [];
    const src = {
      size: bytes.length,
      read: async (o: number, l: number) => (reads.push([o, l]), bytes.slice(o, o + l)),
    };
    const r = await SafetensorsReader.open(src, 'chunked.safetensors');
    expect([...(await r.readFloat('y')).data]).toEqual([5, 6]);
    expect(reads.slice(0, 2)).toEqual([
      [0, 8],
      [8, r.header.dataStart - 8],
    ]);
    expect(reads[2][1]).toBe(8); // only y's 8 bytes
  });
});

describe('safetensors write', () => {
  it('writes a deterministic, 8-byte aligned header with sorted keys that parses back', async () => {
    const a = writeSafetensors(
      { zeta: { shape: [2], data: new Float32Array([1, 2]) }, alpha: { shape: [1], data: new Float32Array([3]) } },
      { format: 'pt' },
    );
    const b = writeSafetensors(
      new Map([
        ['alpha', { shape: [1], data: new Float32Array([3]) }],
        ['zeta', { shape: [2], data: new Float32Array([1, 2]) }],
      ]),
      { format: 'pt' },
    );
    expect(a).toEqual(b);
    const n = Number(new DataView(a.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(a.subarray(8, 8 + n));
    expect(text).toBe(text.trimEnd() + ' '.repeat(text.length - text.trimEnd().length));
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed)).toEqual(['__metadata__', 'alpha', 'zeta']);
    expect(parsed.alpha).toEqual({ dtype: 'F32', shape: [1], data_offsets: [0, 4] });
    expect(parsed.zeta).toEqual({ dtype: 'F32', shape: [2], data_offsets: [4, 12] });
    expect(a.length).toBe(8 + n + 12);
    // data bytes are plain little-endian float32
    expect([...new Float32Array(a.slice(8 + n).buffer)]).toEqual([3, 1, 2]);
  });
  it('writes F16 and BF16 with the expected bit patterns', async () => {
    const f = writeSafetensors({
      h: { shape: [2], data: new Float32Array([1, -2]), dtype: 'F16' },
      b: { shape: [1], data: new Float32Array([-3.5]), dtype: 'BF16' },
    });
    const n = Number(new DataView(f.buffer).getBigUint64(0, true));
    expect([...new Uint16Array(f.slice(8 + n).buffer)]).toEqual([0xc060, 0x3c00, 0xc000]); // b first (sorted), then h
  });
});

describe('safetensors corrupt files: one clear error naming the file and the tensor', () => {
  const good = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  it('8-byte length of 2^60', async () => {
    const m = await errorOf(rawFile('{}', new Uint8Array(0), 2n ** 60n));
    expect(m).toMatch(/^bad\.safetensors: header length 1152921504606846976 bytes exceeds the 100000000-byte limit/);
    expect(MAX_HEADER_BYTES).toBe(100_000_000);
  });
  it('header longer than the file', async () => {
    const m = await errorOf(rawFile(JSON.stringify({ t: good }), f32bytes([1, 2]), 500n));
    expect(m).toMatch(/^bad\.safetensors: header length 500 bytes is longer than the file \(\d+ bytes\)$/);
  });
  it('offsets past the end', async () => {
    const m = await errorOf(
      rawFile(JSON.stringify({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }), f32bytes([1, 2])),
    );
    expect(m).toBe(
      'bad.safetensors: tensor "t": data_offsets [0, 16] run past the end of the data (8 bytes; file truncated?)',
    );
  });
  it('overlapping tensors', async () => {
    const m = await errorOf(
      rawFile(
        JSON.stringify({
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        }),
        f32bytes([1, 2, 3]),
      ),
    );
    expect(m).toMatch(/^bad\.safetensors: tensors "a" and "b" overlap/);
  });
  it('wrong byte count', async () => {
    const m = await errorOf(
      rawFile(JSON.stringify({ w: { dtype: 'F16', shape: [3], data_offsets: [0, 8] } }), f32bytes([1, 2])),
    );
    expect(m).toBe('bad.safetensors: tensor "w": 8 bytes for F16 shape [3], expected 6');
  });
  it('begin after end, bad dtype, bad JSON', async () => {
    expect(
      await errorOf(
        rawFile(JSON.stringify({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }), f32bytes([1, 2])),
      ),
    ).toMatch(/tensor "w": data_offsets begin 8 > end 4/);
    expect(
      await errorOf(rawFile(JSON.stringify({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }), f32bytes([1]))),
    ).toMatch(/tensor "w": unsupported dtype "Q4"/);
    expect(await errorOf(rawFile('{"w": ', f32bytes([1])))).toMatch(
      /^bad\.safetensors: header is not valid UTF-8 JSON/,
    );
    expect(await errorOf(new Uint8Array(5))).toMatch(/too short/);
  });
});
