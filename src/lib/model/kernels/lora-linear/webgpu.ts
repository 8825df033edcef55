import * as tf from '@tensorflow/tfjs';
import { registerLabKernel } from '../registry';
import { FLAT_GROUP_WGSL, groupsFor, runWgsl, type WgslProgram, type WgslUniform } from '../webgpu-program';
import { canSumDx, LORA_LINEAR_BACKWARD, LORA_LINEAR_FORWARD, type LoraLinearFormat } from './lora-linear';

/**
 * The LoRA linear on WebGPU (x [N, in], W [out, in] f32 or packed, A [r, in], B [out, r], scale s):
 *
 * forward, one dispatch (tfjs runs about five: two products, the scale, the bias and LoRA adds):
 *   y = x·Wᵀ (+ b) + d·Bᵀ in 16 × 16 output tiles, x and W staged in workgroup memory over in as in
 *   packed-matmul/webgpu-op.ts; beside them the tiles of A, so that each workgroup also accumulates
 *   d = s·(x_d·Aᵀ) for its 16 rows (r ≤ 16: one column of d per invocation, recomputed by every column
 *   of tiles, the first of which writes it out), then adds the bias and the rank-r sum d[m]·B[o].
 *   Above rank 16, or where the bindings would pass the 8 storage buffers every device allows, d comes
 *   from a dispatch of its own first (one invocation per element) and the tiles read it.
 * backward, two dispatches (tfjs: about nine, with transposes):
 *   1. dd = s·(dy·B) [N, r] and dB = (dᵀ·dy)ᵀ [out, r], one invocation per element of either;
 *   2. dx = dy·W + dd·A as 16 × 16 tiles over out (the rank-r sum added per element), and, in the
 *      workgroups after the tiles, dA = ddᵀ·x_d [r, in], one invocation per element.
 *   Under dropout (x_d is not x) the tiles write dy·W alone and a third dispatch writes dd·A, the
 *   gradient of x_d (eight storage bindings are all a device need allow).
 * W is read as packed-matmul/webgpu-op.ts reads it: f32, f16 pairs through `unpack2x16float`, or int8
 * bytes times the row's scale. Sums run in f32 in the reference's order of terms (x·Wᵀ, + b, + d·Bᵀ), so
 * they differ from it only in the order of each dot product's additions. dd is an intermediate, freed
 * once recorded.
 */
const TILE = 16;
const FLAT = 64;
const TILE_THREADS = TILE * TILE;
/** Whether the forward computes d inside the tiles of y (one dispatch) where it can. */
const FUSED_FORWARD = true;

/** Storage declarations: outputs (read_write) then inputs (read), then the uniforms `p: U`. */
function bindings(outs: string[], ins: [string, string][]): string {
  const decl = [
    ...outs.map((n) => `var<storage, read_write> ${n}: array<f32>;`),
    ...ins.map(([n, t]) => `var<storage, read> ${n}: array<${t}>;`),
    'var<uniform> p: U;',
  ];
  return decl.map((d, i) => `@group(0) @binding(${i}) ${d}`).join('\n');
}

/** The uniforms every program of this file declares (unused fields cost nothing). */
const U_WGSL = /* wgsl */ `
struct U { n: u32, inF: u32, outF: u32, r: u32, s: f32, tilesK: u32, tiles: u32 };
${FLAT_GROUP_WGSL}
`;

function uniforms(n: number, inF: number, outF: number, r: number, s: number, tilesK = 0, tiles = 0): WgslUniform[] {
  return [
    { type: 'uint32', value: n },
    { type: 'uint32', value: inF },
    { type: 'uint32', value: outF },
    { type: 'uint32', value: r },
    { type: 'float32', value: s },
    { type: 'uint32', value: tilesK },
    { type: 'uint32', value: tiles },
  ];
}

/** W's binding(s) and `fn wAt(o, k) -> f32`, W[o, k] as f32. */
function weight(fmt: LoraLinearFormat): { ins: [string, string][]; code: string } {
  if (fmt === 'f32') return { ins: [['W', 'f32']], code: 'fn wAt(o: u32, k: u32) -> f32 { return W[o * p.inF + k]; }' };
  if (fmt === 'f16')
    return {
      ins: [['W', 'i32']],
      code: `fn wAt(o: u32, k: u32) -> f32 {
        let i = o * p.inF + k;
        let pair = unpack2x16float(bitcast<u32>(W[i >> 1u]));
        return select(pair.x, pair.y, (i & 1u) == 1u);
      }`,
    };
  return {
    ins: [
      ['W', 'i32'],
      ['S', 'f32'],
    ],
    code: `fn wAt(o: u32, k: u32) -> f32 {
      let i = o * p.inF + k;
      return f32(extractBits(W[i >> 2u], (i & 3u) * 8u, 8u)) * S[o];
    }`,
  };
}

/** Forward 1: d[n, j] = s·Σ_k x_d[n, k]·A[j, k]. */
const DOWN_WGSL = /* wgsl */ `
${bindings(
  ['d'],
  [
    ['xd', 'f32'],
    ['A', 'f32'],
  ],
)}
${U_WGSL}
@compute @workgroup_size(${FLAT})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = groupIndex(wid, nwg) * ${FLAT}u + lid;
  if (e >= p.n * p.r) { return; }
  let xb = (e / p.r) * p.inF;
  let ab = (e % p.r) * p.inF;
  var acc = 0.0;
  for (var k = 0u; k < p.inF; k++) { acc += xd[xb + k] * A[ab + k]; }
  d[e] = acc * p.s;
}
`;

/**
 * Forward 2: y[m, o] = Σ_k x[m, k]·W[o, k] (+ b[o]) + Σ_j d[m, j]·B[o, j], one 16 × 16 tile a workgroup.
 * `fused` (r ≤ 16): the same dispatch also computes d for its 16 rows, accumulating x_d·Aᵀ over the
 * staged tiles of x_d (x itself unless `sep`) and of A beside x·Wᵀ; the workgroups of the first column
 * of tiles write d out. Else d is an input, written by the forward's first dispatch.
 */
function upWgsl(fmt: LoraLinearFormat, bias: boolean, fused: boolean, sep: boolean): string {
  const w = weight(fmt);
  const ins: [string, string][] = [['x', 'f32'], ...(sep ? [['xd', 'f32'] as [string, string]] : []), ...w.ins];
  ins.push(fused ? ['A', 'f32'] : ['d', 'f32'], ['B', 'f32']);
  if (bias) ins.push(['b', 'f32']);
  const xdTile = sep ? 'xdt' : 'xt';
  return /* wgsl */ `
${bindings(fused ? ['y', 'd'] : ['y'], ins)}
${U_WGSL}
${w.code}
var<workgroup> xt: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> wt: array<array<f32, ${TILE}>, ${TILE}>;
${fused ? `var<workgroup> at: array<array<f32, ${TILE}>, ${TILE}>;\nvar<workgroup> dt: array<array<f32, ${TILE}>, ${TILE}>;` : ''}
${sep ? `var<workgroup> xdt: array<array<f32, ${TILE}>, ${TILE}>;` : ''}
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) loc: vec3<u32>) {
  let tx = loc.x;
  let ty = loc.y;
  let m = wid.y * ${TILE}u + ty;
  let o = wid.x * ${TILE}u + tx;
  let wo = wid.x * ${TILE}u + ty;
  var acc = 0.0;
  var dacc = 0.0;
  for (var k0 = 0u; k0 < p.inF; k0 += ${TILE}u) {
    let k = k0 + tx;
    var a = 0.0;
    if (m < p.n && k < p.inF) { a = x[m * p.inF + k]; }
    xt[ty][tx] = a;
    var v = 0.0;
    if (wo < p.outF && k < p.inF) { v = wAt(wo, k); }
    wt[ty][tx] = v;
    ${
      fused
        ? `var c = 0.0;
    if (ty < p.r && k < p.inF) { c = A[ty * p.inF + k]; }
    at[ty][tx] = c;`
        : ''
    }
    ${
      sep
        ? `var e = 0.0;
    if (m < p.n && k < p.inF) { e = xd[m * p.inF + k]; }
    xdt[ty][tx] = e;`
        : ''
    }
    workgroupBarrier();
    for (var j = 0u; j < ${TILE}u; j++) { acc += xt[ty][j] * wt[tx][j]; }
    ${fused ? `for (var j = 0u; j < ${TILE}u; j++) { dacc += ${xdTile}[ty][j] * at[tx][j]; }` : ''}
    workgroupBarrier();
  }
  ${
    fused
      ? `dt[ty][tx] = dacc * p.s;
  workgroupBarrier();
  if (wid.x == 0u && m < p.n && tx < p.r) { d[m * p.r + tx] = dt[ty][tx]; }`
      : ''
  }
  if (m < p.n && o < p.outF) {
    ${bias ? 'acc = acc + b[o];' : ''}
    var l = 0.0;
    for (var j = 0u; j < p.r; j++) { l += ${fused ? 'dt[ty][j]' : 'd[m * p.r + j]'} * B[o * p.r + j]; }
    y[m * p.outF + o] = acc + l;
  }
}
`;
}

/** Backward 1: dd[n, j] = s·Σ_o dy[n, o]·B[o, j] and dB[o, j] = Σ_n dy[n, o]·d[n, j]. */
const GRAD_D_WGSL = /* wgsl */ `
${bindings(
  ['dd', 'dB'],
  [
    ['dy', 'f32'],
    ['B', 'f32'],
    ['d', 'f32'],
  ],
)}
${U_WGSL}
@compute @workgroup_size(${FLAT})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = groupIndex(wid, nwg) * ${FLAT}u + lid;
  let nr = p.n * p.r;
  if (e < nr) {
    let row = e / p.r;
    let j = e % p.r;
    var acc = 0.0;
    for (var o = 0u; o < p.outF; o++) { acc += dy[row * p.outF + o] * B[o * p.r + j]; }
    dd[e] = acc * p.s;
  } else if (e - nr < p.outF * p.r) {
    let q = e - nr;
    let o = q / p.r;
    let j = q % p.r;
    var acc = 0.0;
    for (var row = 0u; row < p.n; row++) { acc += d[row * p.r + j] * dy[row * p.outF + o]; }
    dB[q] = acc;
  }
}
`;

/**
 * Backward 2: workgroups [0, tiles): dx[m, k] = Σ_o dy[m, o]·W[o, k] (+ Σ_j dd[m, j]·A[j, k] when
 * `lora`) (+ dxIn[m, k] when `sum`: the gradient x already has from other products of it), one 16 × 16
 * tile each; the rest: dA[j, k] = Σ_n dd[n, j]·x_d[n, k], one element an invocation.
 */
function gradXWgsl(fmt: LoraLinearFormat, lora: boolean, sum: boolean): string {
  const w = weight(fmt);
  const ins: [string, string][] = [['dy', 'f32'], ...w.ins, ['dd', 'f32'], ['xd', 'f32']];
  if (lora) ins.push(['A', 'f32']);
  if (sum) ins.push(['dxIn', 'f32']);
  return /* wgsl */ `
${bindings(['dx', 'dA'], ins)}
${U_WGSL}
${w.code}
var<workgroup> gt: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> wt: array<array<f32, ${TILE}>, ${TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) loc: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = groupIndex(wid, nwg);
  if (g < p.tiles) {
    let tx = loc.x;
    let ty = loc.y;
    let m = (g / p.tilesK) * ${TILE}u + ty;
    let k = (g % p.tilesK) * ${TILE}u + tx;
    var acc = 0.0;
    for (var o0 = 0u; o0 < p.outF; o0 += ${TILE}u) {
      var a = 0.0;
      if (m < p.n && o0 + tx < p.outF) { a = dy[m * p.outF + o0 + tx]; }
      gt[ty][tx] = a;
      var v = 0.0;
      if (o0 + ty < p.outF && k < p.inF) { v = wAt(o0 + ty, k); }
      wt[ty][tx] = v;
      workgroupBarrier();
      for (var j = 0u; j < ${TILE}u; j++) { acc += gt[ty][j] * wt[j][tx]; }
      workgroupBarrier();
    }
    if (m < p.n && k < p.inF) {
      ${
        lora
          ? `var l = 0.0;
      for (var j = 0u; j < p.r; j++) { l += dd[m * p.r + j] * A[j * p.inF + k]; }
      acc = acc + l;`
          : ''
      }
      ${sum ? 'acc = dxIn[m * p.inF + k] + acc;' : ''}
      dx[m * p.inF + k] = acc;
    }
  } else {
    let e = (g - p.tiles) * ${TILE_THREADS}u + lid;
    if (e < p.r * p.inF) {
      let j = e / p.inF;
      let k = e % p.inF;
      var acc = 0.0;
      for (var row = 0u; row < p.n; row++) { acc += dd[row * p.r + j] * xd[row * p.inF + k]; }
      dA[e] = acc;
    }
  }
}
`;
}

/** Under dropout: dxd[n, k] = Σ_j dd[n, j]·A[j, k]. */
const DXD_WGSL = /* wgsl */ `
${bindings(
  ['dxd'],
  [
    ['dd', 'f32'],
    ['A', 'f32'],
  ],
)}
${U_WGSL}
@compute @workgroup_size(${FLAT})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = groupIndex(wid, nwg) * ${FLAT}u + lid;
  if (e >= p.n * p.inF) { return; }
  let row = e / p.inF;
  let k = e % p.inF;
  var acc = 0.0;
  for (var j = 0u; j < p.r; j++) { acc += dd[row * p.r + j] * A[j * p.inF + k]; }
  dxd[e] = acc;
}
`;

const programs = new Map<string, string>();

/** The program of `key` (its WGSL made once). */
function prog(key: string, make: () => string, workgroups: [number, number, number]): WgslProgram {
  let code = programs.get(key);
  if (!code) programs.set(key, (code = make()));
  return { key, code, workgroups };
}

interface Attrs {
  fmt: LoraLinearFormat;
  s: number;
  same?: boolean;
}

/** W's tensors in binding order (words, then the int8 scales). */
const weightTensors = (inputs: Record<string, tf.TensorInfo>, fmt: LoraLinearFormat) =>
  fmt === 'int8' ? [inputs.w, inputs.scales] : [inputs.w];

const flatGroups = (count: number) => groupsFor(Math.ceil(count / FLAT));

/** Registers the two kernels with tfjs for the webgpu backend, and the op with the kernel registry (idempotent). */
export function registerWebgpuLoraLinear(): void {
  registerLabKernel({ op: 'lora-linear', backendName: 'webgpu', kernelName: LORA_LINEAR_FORWARD, ready: () => true });
  if (tf.getKernel(LORA_LINEAR_FORWARD, 'webgpu')) return;
  tf.registerKernel({
    kernelName: LORA_LINEAR_FORWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const t = inputs as Record<string, tf.TensorInfo>;
      const { fmt, s } = attrs as unknown as Attrs;
      const [N, inF] = t.x.shape;
      const [outF, r] = t.B.shape;
      const u = uniforms(N, inF, outF, r, s);
      const bias = t.b !== undefined;
      const sep = t.xd !== undefined;
      const w = weightTensors(t, fmt);
      const tiles: [number, number, number] = [Math.ceil(outF / TILE), Math.ceil(N / TILE), 1];
      // one dispatch where d fits the tile's columns and the bindings fit WebGPU's default 8 a stage
      const fused = FUSED_FORWARD && r <= TILE && 2 + 3 + w.length + (sep ? 1 : 0) + (bias ? 1 : 0) <= 8;
      const key = `CloLabLoraLinear_${fmt}${bias ? '_b' : ''}${fused ? '_fused' : ''}${sep && fused ? '_xd' : ''}`;
      const up = prog(key, () => upWgsl(fmt, bias, fused, sep && fused), tiles);
      if (fused) {
        const ins = [t.x, ...(sep ? [t.xd] : []), ...w, t.A, t.B, ...(bias ? [t.b] : [])];
        return runWgsl(backend, up, ins, [{ shape: [N, outF] }, { shape: [N, r] }], u);
      }
      const down = prog('CloLabLoraDown', () => DOWN_WGSL, flatGroups(N * r));
      const [d] = runWgsl(backend, down, [t.xd ?? t.x, t.A], [{ shape: [N, r] }], u);
      const [y] = runWgsl(backend, up, [t.x, ...w, d, t.B, ...(bias ? [t.b] : [])], [{ shape: [N, outF] }], u);
      return [y, d];
    },
  });
  tf.registerKernel({
    kernelName: LORA_LINEAR_BACKWARD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const t = inputs as Record<string, tf.TensorInfo>;
      const { fmt, s, same } = attrs as unknown as Attrs;
      const [N, inF] = t.xd.shape;
      const [outF, r] = t.B.shape;
      const [dd, dB] = runWgsl(
        backend,
        prog('CloLabLoraLinearGradD', () => GRAD_D_WGSL, flatGroups(N * r + outF * r)),
        [t.dy, t.B, t.d],
        [{ shape: [N, r] }, { shape: [outF, r] }],
        uniforms(N, inF, outF, r, s),
      );
      const tilesK = Math.ceil(inF / TILE);
      const tiles = tilesK * Math.ceil(N / TILE);
      const lora = !!same;
      const sum = t.dxIn !== undefined;
      if (sum && !(lora && canSumDx(fmt))) throw new Error(`LoRA linear backward: dxIn with ${fmt} W or dropout`);
      const gx = prog(
        `CloLabLoraLinearGradX_${fmt}${lora ? '_lora' : ''}${sum ? '_sum' : ''}`,
        () => gradXWgsl(fmt, lora, sum),
        groupsFor(tiles + Math.ceil((r * inF) / TILE_THREADS)),
      );
      const ins = [t.dy, ...weightTensors(t, fmt), dd, t.xd, ...(lora ? [t.A] : []), ...(sum ? [t.dxIn] : [])];
      const u = uniforms(N, inF, outF, r, s, tilesK, tiles);
      const [dx, dA] = runWgsl(backend, gx, ins, [{ shape: [N, inF] }, { shape: [r, inF] }], u);
      let out = [dx, dA, dB];
      if (!lora) {
        const dxdProg = prog('CloLabLoraLinearGradXd', () => DXD_WGSL, flatGroups(N * inF));
        const [dxd] = runWgsl(backend, dxdProg, [dd, t.A], [{ shape: [N, inF] }], u);
        out = [dx, dxd, dA, dB];
      }
      (backend as tf.KernelBackend).disposeData(dd.dataId);
      return out;
    },
  });
}
