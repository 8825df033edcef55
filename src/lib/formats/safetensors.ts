/**
 * safetensors read/write (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`,
 * then the raw little-endian tensor bytes; offsets are relative to the end of the header.
 *
 * Reading validates everything before a byte of tensor data is touched, and works either from a
 * Uint8Array or from a chunked source (browser File/Blob slices, Node file handles), so no single
 * ArrayBuffer larger than one tensor is ever needed.
 */
import { f16ToF32, bf16ToF32, f32ToF16, f32ToBf16 } from './half';

/** Largest header we accept (the reference implementation uses the same 100 MB cap). */
export const MAX_HEADER_BYTES = 100_000_000;

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
export const DTYPE_BYTES: Record<SafetensorsDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Something that can hand out byte ranges of a file: a Blob slice, a Node file handle, an HTTP range. */
export interface ChunkedSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** absolute byte offsets in the file */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  fileName: string;
  /** in file order */
  tensors: TensorInfo[];
  metadata: Record<string, string> | null;
  /** 8 + header length */
  dataStart: number;
  fileSize: number;
}

/** Float tensors come back as Float32Array, integer ones as Int32Array. */
export interface ReadTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

function fail(fileName: string, msg: string): never {
  throw new SafetensorsError(`${fileName}: ${msg}`);
}

/** Reads the 8-byte length prefix; refuses anything above MAX_HEADER_BYTES or past the file end. */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, fileName: string): number {
  if (fileSize < 8 || prefix.length < 8)
    fail(fileName, `file is ${fileSize} bytes, too short for a safetensors header length (8 bytes)`);
  const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo; // exact up to 2^53; above that the value is only used in the message
  if (hi >= 2 ** 21 || n > MAX_HEADER_BYTES) {
    const exact = (BigInt(hi) << 32n) | BigInt(lo);
    fail(
      fileName,
      `header length ${exact} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt or not a safetensors file)`,
    );
  }
  if (8 + n > fileSize) fail(fileName, `header length ${n} bytes is longer than the file (${fileSize} bytes)`);
  return n;
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

/** Parses and validates the JSON header. `headerBytes` is the N bytes after the length prefix. */
export function parseHeader(headerBytes: Uint8Array, fileSize: number, fileName: string): SafetensorsHeader {
  const dataStart = 8 + headerBytes.length;
  const dataLen = fileSize - dataStart;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    fail(fileName, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(fileName, 'header is not a JSON object');
  let metadata: Record<string, string> | null = null;
  const tensors: TensorInfo[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw)))
        fail(fileName, '__metadata__ is not an object');
      metadata = {};
      for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(fileName, `__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!t || typeof t !== 'object') fail(fileName, `tensor "${name}": entry is not an object`);
    const dtype = t.dtype as SafetensorsDType;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES))
      fail(fileName, `tensor "${name}": unsupported dtype ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every(isNonNegInt))
      fail(fileName, `tensor "${name}": shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isNonNegInt))
      fail(fileName, `tensor "${name}": data_offsets ${JSON.stringify(off)} is not [begin, end]`);
    const [b, e] = off as [number, number];
    if (b > e) fail(fileName, `tensor "${name}": data_offsets begin ${b} > end ${e}`);
    if (e > dataLen)
      fail(
        fileName,
        `tensor "${name}": data_offsets [${b}, ${e}] run past the end of the data (${dataLen} bytes; file truncated?)`,
      );
    const numel = (t.shape as number[]).reduce((a, d) => a * d, 1);
    const want = numel * DTYPE_BYTES[dtype];
    if (e - b !== want)
      fail(
        fileName,
        `tensor "${name}": ${e - b} bytes for ${dtype} shape [${(t.shape as number[]).join(', ')}], expected ${want}`,
      );
    tensors.push({ name, dtype, shape: [...(t.shape as number[])], begin: dataStart + b, end: dataStart + e });
  }
  const sorted = [...tensors].sort((x, y) => x.begin - y.begin || x.end - y.end);
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1];
    const c = sorted[i];
    if (c.begin < p.end)
      fail(
        fileName,
        `tensors "${p.name}" and "${c.name}" overlap (bytes ${p.begin - dataStart}..${p.end - dataStart} and ${c.begin - dataStart}..${c.end - dataStart})`,
      );
  }
  return { fileName, tensors, metadata, dataStart, fileSize };
}

function bytesSource(bytes: Uint8Array): ChunkedSource {
  return { size: bytes.length, read: async (o, l) => bytes.subarray(o, o + l) };
}

/** Reads and validates the header of a safetensors file. */
export async function readSafetensorsHeader(
  src: ChunkedSource | Uint8Array,
  fileName = 'model.safetensors',
): Promise<SafetensorsHeader> {
  const s = src instanceof Uint8Array ? bytesSource(src) : src;
  const prefix = await s.read(0, Math.min(8, s.size));
  const n = parseHeaderLength(prefix, s.size, fileName);
  const headerBytes = await s.read(8, n);
  if (headerBytes.length !== n) fail(fileName, `short read of the header (${headerBytes.length} of ${n} bytes)`);
  return parseHeader(headerBytes, s.size, fileName);
}

/** Converts one tensor's raw little-endian bytes. Float dtypes → Float32Array, integers → Int32Array. */
export function decodeTensorBytes(
  raw: Uint8Array,
  info: Pick<TensorInfo, 'name' | 'dtype'>,
  fileName: string,
): Float32Array | Int32Array {
  // Copy into a fresh, aligned buffer (the source may sit at any byte offset).
  const buf = raw.slice().buffer;
  switch (info.dtype) {
    case 'F32':
      return new Float32Array(buf);
    case 'F16':
      return f16ToF32(new Uint16Array(buf));
    case 'BF16':
      return bf16ToF32(new Uint16Array(buf));
    case 'F64':
      return Float32Array.from(new Float64Array(buf));
    case 'I32':
      return new Int32Array(buf);
    case 'I16':
      return Int32Array.from(new Int16Array(buf));
    case 'I8':
      return Int32Array.from(new Int8Array(buf));
    case 'U8':
    case 'BOOL':
      return Int32Array.from(new Uint8Array(buf));
    case 'I64': {
      const big = new BigInt64Array(buf);
      const out = new Int32Array(big.length);
      for (let i = 0; i < big.length; i++) {
        const v = big[i];
        if (v > 2147483647n || v < -2147483648n)
          fail(fileName, `tensor "${info.name}": I64 value ${v} at index ${i} does not fit in int32`);
        out[i] = Number(v);
      }
      return out;
    }
  }
}

/**
 * A validated safetensors file whose tensors are read one at a time on demand.
 */
export class SafetensorsReader {
  readonly header: SafetensorsHeader;
  private readonly src: ChunkedSource;
  private readonly byName: Map<string, TensorInfo>;

  private constructor(src: ChunkedSource, header: SafetensorsHeader) {
    this.src = src;
    this.header = header;
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  static async open(src: ChunkedSource | Uint8Array, fileName = 'model.safetensors'): Promise<SafetensorsReader> {
    const s = src instanceof Uint8Array ? bytesSource(src) : src;
    return new SafetensorsReader(s, await readSafetensorsHeader(s, fileName));
  }

  get fileName(): string {
    return this.header.fileName;
  }
  get metadata(): Record<string, string> | null {
    return this.header.metadata;
  }
  names(): string[] {
    return this.header.tensors.map((t) => t.name);
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  info(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) fail(this.fileName, `no tensor named "${name}"`);
    return t;
  }

  async read(name: string): Promise<ReadTensor> {
    const t = this.info(name);
    const raw = await this.src.read(t.begin, t.end - t.begin);
    if (raw.length !== t.end - t.begin)
      fail(this.fileName, `tensor "${name}": short read (${raw.length} of ${t.end - t.begin} bytes)`);
    return { dtype: t.dtype, shape: t.shape, data: decodeTensorBytes(raw, t, this.fileName) };
  }

  /** Reads a float tensor (any float dtype), refusing integer ones. */
  async readFloat(name: string): Promise<{ shape: number[]; data: Float32Array }> {
    const r = await this.read(name);
    if (!(r.data instanceof Float32Array))
      fail(this.fileName, `tensor "${name}": expected a float tensor, got ${r.dtype}`);
    return { shape: r.shape, data: r.data };
  }
}

/** Reads every tensor of an in-memory file. */
export async function readSafetensors(
  bytes: Uint8Array,
  fileName = 'model.safetensors',
): Promise<{ tensors: Map<string, ReadTensor>; metadata: Record<string, string> | null }> {
  const r = await SafetensorsReader.open(bytes, fileName);
  const tensors = new Map<string, ReadTensor>();
  for (const n of r.names()) tensors.set(n, await r.read(n));
  return { tensors, metadata: r.metadata };
}

export interface WriteTensor {
  shape: number[];
  data: Float32Array | Int32Array;
  /** stored dtype; default F32 for Float32Array, I32 for Int32Array */
  dtype?: 'F32' | 'F16' | 'BF16' | 'I32';
}

/** Largest finite F16 and BF16 values. */
export const F16_MAX = 65504;
export const BF16_MAX = 3.3895313892515355e38;

/**
 * Nothing NaN or infinite is ever written, and a value that does not fit the stored float type
 * (it would turn into ±Inf) is refused: the error names the tensor, the index and the value.
 */
export function checkWritable(name: string, f: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): void {
  const limit = dtype === 'F16' ? F16_MAX : dtype === 'BF16' ? BF16_MAX : Infinity;
  for (let i = 0; i < f.length; i++) {
    const v = f[i];
    if (Number.isFinite(v) && Math.abs(v) <= limit) continue;
    if (!Number.isFinite(v))
      throw new SafetensorsError(
        `tensor "${name}": value ${v} at index ${i} (non-finite values are never written; the weights are broken, e.g. training diverged)`,
      );
    throw new SafetensorsError(
      `tensor "${name}": value ${v} at index ${i} is outside the ${dtype} range (±${limit}); export as F32 instead`,
    );
  }
}

/**
 * Serialises tensors. Refuses NaN/±Inf and values outside the stored type's range (checkWritable). Keys are written in sorted order (deterministic bytes); the header is padded
 * with spaces so the data starts on an 8-byte boundary.
 */
export function writeSafetensors(
  tensors: Map<string, WriteTensor> | Record<string, WriteTensor>,
  metadata?: Record<string, string> | null,
): Uint8Array {
  const entries = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = { ...metadata };
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new SafetensorsError(`tensor name "__metadata__" is reserved`);
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (numel !== t.data.length)
      throw new SafetensorsError(
        `tensor "${name}": shape [${t.shape.join(', ')}] holds ${numel} values but data has ${t.data.length}`,
      );
    const dtype = t.dtype ?? (t.data instanceof Int32Array ? 'I32' : 'F32');
    let bytes: Uint8Array;
    if (dtype === 'I32') {
      if (!(t.data instanceof Int32Array)) throw new SafetensorsError(`tensor "${name}": I32 needs an Int32Array`);
      bytes = new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
    } else {
      const f = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
      checkWritable(name, f, dtype);
      if (dtype === 'F32') bytes = new Uint8Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength));
      else if (dtype === 'F16') bytes = new Uint8Array(f32ToF16(f).buffer);
      else bytes = new Uint8Array(f32ToBf16(f).buffer);
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    blobs.push(bytes);
  }
  let json = JSON.stringify(header);
  let headerBytes = new TextEncoder().encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    headerBytes = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, headerBytes.length, true);
  dv.setUint32(4, 0, true);
  out.set(headerBytes, 8);
  let p = 8 + headerBytes.length;
  for (const b of blobs) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}
