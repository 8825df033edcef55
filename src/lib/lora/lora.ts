import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../model/config';
import type { LinearName, ModelWeights } from '../model/weights';
import { gaussian, mulberry32 } from '../model/sample';
import type { LoraConfig, LoraPair, LoraSnapshot, LoraState } from './types';
import { linearShape } from '../model/adapter';
import { denseWeight } from '../model/packed-base';

export { linearShape };

let varCounter = 0;

/**
 * Attach adapters: A [r, in] ~ N(0, 1/r) (or Kaiming-uniform), B [out, r] = 0, so step 0 is exactly
 * the base model. Drawn with a JS PRNG so the same seed gives the same A on every backend.
 */
export function createLora(cfg: ModelConfig, lc: LoraConfig, seed: number): LoraState {
  if (!(lc.r >= 1)) throw new Error(`--lora-rank must be >= 1 (got ${lc.r})`);
  const rng = mulberry32(seed ^ 0x9e3779b9);
  const adapters = new Map<string, LoraPair>();
  for (let l = 0; l < cfg.nLayers; l++) {
    for (const name of lc.targets) {
      if (name === 'gate_proj' && cfg.mlp !== 'swiglu') continue;
      const [out, inp] = linearShape(cfg, name);
      const a = new Float32Array(lc.r * inp);
      if (lc.init === 'kaiming') {
        // PEFT: kaiming_uniform_(a=sqrt(5)) → bound = 1/sqrt(in)
        const bound = 1 / Math.sqrt(inp);
        for (let i = 0; i < a.length; i++) a[i] = (rng() * 2 - 1) * bound;
      } else {
        const std = 1 / Math.sqrt(lc.r);
        for (let i = 0; i < a.length; i++) a[i] = gaussian(rng) * std;
      }
      adapters.set(`${l}.${name}`, {
        A: tf.variable(tf.tensor2d(a, [lc.r, inp]), true, `lora_${l}_${name}_A_${++varCounter}`),
        B: tf.variable(tf.zeros([out, lc.r]), true, `lora_${l}_${name}_B_${++varCounter}`),
      });
    }
  }
  return { config: { ...lc }, adapters, enabled: true };
}

export function loraVariables(state: LoraState): tf.Variable[] {
  const vars: tf.Variable[] = [];
  for (const p of state.adapters.values()) vars.push(p.A, p.B);
  return vars;
}

export async function snapshotLora(state: LoraState): Promise<LoraSnapshot> {
  const tensors: LoraSnapshot['tensors'] = {};
  for (const [key, p] of state.adapters) {
    tensors[key] = {
      A: (await p.A.data()) as Float32Array,
      B: (await p.B.data()) as Float32Array,
      aShape: p.A.shape as [number, number],
      bShape: p.B.shape as [number, number],
    };
  }
  return { config: { ...state.config }, tensors };
}

export function loraFromSnapshot(snap: LoraSnapshot): LoraState {
  const adapters = new Map<string, LoraPair>();
  for (const [key, t] of Object.entries(snap.tensors)) {
    adapters.set(key, {
      A: tf.variable(tf.tensor2d(t.A, t.aShape), true, `lora_${key}_A_${++varCounter}`),
      B: tf.variable(tf.tensor2d(t.B, t.bShape), true, `lora_${key}_B_${++varCounter}`),
    });
  }
  return { config: { ...snap.config }, adapters, enabled: true };
}

export function disposeLora(state: LoraState): void {
  for (const p of state.adapters.values()) {
    p.A.dispose();
    p.B.dispose();
  }
  state.adapters.clear();
}

/** Run fn with the adapter switched off (the reference model πref), restoring the flag after. */
export function withAdapterOff<T>(state: LoraState | null | undefined, fn: () => T): T {
  if (!state) return fn();
  const was = state.enabled;
  state.enabled = false;
  try {
    return fn();
  } finally {
    state.enabled = was;
  }
}

/** W' = W + (alpha/r) B A, into new tensors; tensors not touched by the adapter are shared with `base`. */
export function mergeLora(base: ModelWeights, state: LoraState): ModelWeights {
  const scale = state.config.alpha / state.config.r;
  const layers = base.layers.map((l, i) => {
    const linears = { ...l.linears };
    for (const [name, lin] of Object.entries(l.linears)) {
      const pair = state.adapters.get(`${i}.${name}`);
      if (!pair || !lin) continue;
      // a packed frozen weight (model/packed-base.ts) merges from its dequantised values; the result is f32
      const base = denseWeight(lin.w);
      const w = tf.tidy(() => tf.add(base.t, tf.mul(tf.matMul(pair.B, pair.A), scale)) as tf.Tensor2D);
      if (base.owned) base.t.dispose();
      linears[name as LinearName] = { w, b: lin.b };
    }
    return { ...l, linears };
  });
  return { ...base, layers };
}
