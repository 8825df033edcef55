import * as tf from '@tensorflow/tfjs';
import type { LoraPair } from '../../adapter';
import type { Linear } from '../../weights';
import { frozenProduct, frozenProductT, productT } from '../../matmul';
import { PackedWeight } from '../packed-matmul/packed-matmul';
import { kernelFor } from '../registry';

/**
 * The tfjs kernels of the fused LoRA linear (webgpu.ts). Forward: inputs x, (xd: the adapter's input
 * when it is not x, i.e. under dropout), w (f32 W, or the packed words of a PackedWeight), (scales: int8
 * row scales), A, B, (b); attributes fmt ('f32' | 'f16' | 'int8') and s; outputs y and d = s·(xd·Aᵀ).
 * Backward: inputs dy, xd, d, A, B, w, (scales), (dxIn), attributes fmt, s and same (xd is x); outputs dx,
 * dA, dB when same, else dx (= dy·W), dxd (= dd·A), dA, dB. With dxIn (only when same and canSumDx(fmt)),
 * dx = dxIn + dy·W + dd·A: the gradient x has from other products of it, summed in the same dispatch.
 */
export const LORA_LINEAR_FORWARD = 'CloLabLoraLinear';
export const LORA_LINEAR_BACKWARD = 'CloLabLoraLinearGrad';

/** An adapter as a linear layer applies it: its pair, the scale s = alpha/r, dropout on its input. */
export interface LoraApply {
  pair: LoraPair;
  scale: number;
  dropout: number;
  seed?: number;
}

/** W's format as the kernels name it. */
export type LoraLinearFormat = 'f32' | 'f16' | 'int8';

/**
 * Whether the backward kernel can add a gradient of x given as its input dxIn inside its dx tiles: that
 * binding must fit the 8 storage buffers every WebGPU device allows, which int8's row scales fill.
 */
export const canSumDx = (fmt: LoraLinearFormat): boolean => fmt !== 'int8';

/**
 * A frozen linear with a LoRA adapter, y = x·Wᵀ (+ b) + s·(x_d·Aᵀ)·Bᵀ (x_d = dropout(x) under dropout,
 * else x), with gradients for x, A and B: the backend's fused kernel (webgpu: two dispatches forward,
 * two or three backward) where the kernel registry says so, else the reference path.
 */
export function loraLinear(x: tf.Tensor2D, lin: Linear, lora: LoraApply): tf.Tensor2D {
  return kernelFor('lora-linear') === 'kernel' ? kernelLoraLinear(x, lin, lora) : referenceLoraLinear(x, lin, lora);
}

/** The adapter's input: dropout(x) under dropout (the same mask for both paths: the same seed), else x. */
const adapterInput = (x: tf.Tensor2D, lora: LoraApply): tf.Tensor2D =>
  lora.dropout > 0 ? (tf.dropout(x, lora.dropout, undefined, lora.seed) as tf.Tensor2D) : x;

/**
 * The reference path: one custom gradient over tf ops. For the backward it keeps only x_d (the adapter's
 * input) and d = s·(x_d·Aᵀ) [N, r], where autodiff of the unfused form keeps up [N, out], both addends
 * of each add and a copy of x per product. As in model/lora-delta.ts the scale multiplies the [N, r]
 * tensor and every transpose is r-wide (dB = (dᵀ·dy)ᵀ, not dyᵀ·d):
 *   y = x·Wᵀ (+ b) + d·Bᵀ
 *   dd = s·(dy·B)    dB = (dᵀ·dy)ᵀ    dA = ddᵀ·x_d    dx = dy·W (+ dd·A when x_d is x)
 */
export function referenceLoraLinear(x: tf.Tensor2D, lin: Linear, lora: LoraApply): tf.Tensor2D {
  const w = lin.w;
  const b = lin.b;
  const s = lora.scale;
  const xd = adapterInput(x, lora);
  const same = xd === x;
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, xdi, A, B] = (same ? [args[0], args[0], args[1], args[2]] : args) as tf.Tensor2D[];
    const d = tf.mul(productT(xdi, A), s) as tf.Tensor2D;
    save([xdi, d, A, B]);
    let y = frozenProductT(xi, w);
    if (b) y = tf.add(y, b);
    y = tf.add(y, productT(d, B));
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ds, As, Bs] = saved as tf.Tensor2D[];
        const g = dy as tf.Tensor2D;
        const dd = tf.mul(tf.matMul(g, Bs), s) as tf.Tensor2D;
        const dB = tf.transpose(tf.matMul(tf.transpose(ds), g));
        const dA = tf.matMul(tf.transpose(dd), xs);
        const dxd = tf.matMul(dd, As);
        const dxw = frozenProduct(g, w);
        return same ? [tf.add(dxw, dxd), dA, dB] : [dxw, dxd, dA, dB];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const A = lora.pair.A as unknown as tf.Tensor2D;
  const B = lora.pair.B as unknown as tf.Tensor2D;
  return (same ? f(x, A, B) : f(x, xd, A, B)) as tf.Tensor2D;
}

/** W as the kernels' inputs: the f32 tensor, or a PackedWeight's words (and its scales for int8). */
function weightInputs(w: Linear['w']): { fmt: LoraLinearFormat; inputs: tf.NamedTensorMap } {
  if (!(w instanceof PackedWeight)) return { fmt: 'f32', inputs: { w } };
  if (w.format === 'f16') return { fmt: 'f16', inputs: { w: w.data } };
  return { fmt: 'int8', inputs: { w: w.data, scales: w.scales } };
}

/** The fused kernels, with their gradient (x_d and d kept for the backward, as on the reference path). */
function kernelLoraLinear(x: tf.Tensor2D, lin: Linear, lora: LoraApply): tf.Tensor2D {
  const b = lin.b;
  const s = lora.scale;
  const xd = adapterInput(x, lora);
  const same = xd === x;
  const { fmt, inputs: wIn } = weightInputs(lin.w);
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, xdi, A, B] = (same ? [args[0], args[0], args[1], args[2]] : args) as tf.Tensor2D[];
    const inputs: tf.NamedTensorMap = { x: xi, ...wIn, A, B };
    if (!same) inputs.xd = xdi;
    if (b) inputs.b = b;
    const [y, d] = tf.engine().runKernel(LORA_LINEAR_FORWARD, inputs, { fmt, s }) as tf.Tensor[];
    save([xdi, d, A, B]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ds, As, Bs] = saved;
        const grads = { dy, xd: xs, d: ds, A: As, B: Bs, ...wIn };
        return tf.engine().runKernel(LORA_LINEAR_BACKWARD, grads, { fmt, s, same }) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const A = lora.pair.A as unknown as tf.Tensor2D;
  const B = lora.pair.B as unknown as tf.Tensor2D;
  return (same ? f(x, A, B) : f(x, xd, A, B)) as tf.Tensor2D;
}

/** One frozen linear with its adapter, in a group reading the same input (loraLinears). */
export interface LoraLinearItem {
  lin: Linear;
  lora: LoraApply;
}

/**
 * Several LoRA linears of one input x (a layer's q, k and v projections): [y_i] = loraLinear(x, lin_i,
 * lora_i). Where the fused kernels run, no adapter has dropout and every W's format lets the backward
 * sum (canSumDx), the group is one op whose backward threads x's gradient through the items' backward
 * kernels (each adds its dy_i·W_i + dd_i·A_i to the previous sum in its own dispatch), in place of one
 * add per extra item; otherwise each item is loraLinear on its own, and tfjs sums x's gradients.
 */
export function loraLinears(x: tf.Tensor2D, items: LoraLinearItem[]): tf.Tensor2D[] {
  const formats = items.map((it) => weightInputs(it.lin.w));
  const grouped =
    items.length > 1 &&
    kernelFor('lora-linear') === 'kernel' &&
    items.every((it) => it.lora.dropout === 0) &&
    formats.every((f) => canSumDx(f.fmt));
  if (!grouped) return items.map((it) => loraLinear(x, it.lin, it.lora));
  const inputs: tf.NamedTensorMap = { x };
  items.forEach((it, i) => {
    inputs[`A${i}`] = it.lora.pair.A;
    inputs[`B${i}`] = it.lora.pair.B;
  });
  const engine = tf.engine() as unknown as {
    runKernelFunc(p: {
      forwardFunc: (backend: unknown, save: tf.GradSaveFunc) => tf.Tensor[];
      backwardsFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
      inputs: tf.NamedTensorMap;
    }): tf.Tensor[];
  };
  return engine.runKernelFunc({
    inputs,
    forwardFunc: (_backend, save) => {
      const ys: tf.Tensor[] = [];
      const ds: tf.Tensor[] = [];
      items.forEach((it, i) => {
        const ins: tf.NamedTensorMap = { x, ...formats[i].inputs, A: inputs[`A${i}`], B: inputs[`B${i}`] };
        if (it.lin.b) ins.b = it.lin.b;
        const [y, d] = tf.engine().runKernel(LORA_LINEAR_FORWARD, ins, {
          fmt: formats[i].fmt,
          s: it.lora.scale,
        }) as tf.Tensor[];
        ys.push(y);
        ds.push(d);
      });
      save([x, ...ds]);
      return ys;
    },
    backwardsFunc: (dy, saved) => {
      const dys = Array.isArray(dy) ? dy : [dy];
      const [xs, ...ds] = saved;
      const grads: Record<string, () => tf.Tensor> = {};
      let dx: tf.Tensor | null = null;
      items.forEach((it, i) => {
        const ins: tf.NamedTensorMap = {
          dy: dys[i],
          xd: xs,
          d: ds[i],
          A: inputs[`A${i}`],
          B: inputs[`B${i}`],
          ...formats[i].inputs,
        };
        if (dx) ins.dxIn = dx;
        const attrs = { fmt: formats[i].fmt, s: it.lora.scale, same: true };
        const [next, dA, dB] = tf.engine().runKernel(LORA_LINEAR_BACKWARD, ins, attrs) as tf.Tensor[];
        dx?.dispose();
        dx = next;
        grads[`A${i}`] = () => dA;
        grads[`B${i}`] = () => dB;
      });
      const total = dx as unknown as tf.Tensor;
      grads.x = () => total;
      return grads;
    },
  }) as tf.Tensor2D[];
}
