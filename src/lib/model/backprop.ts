import * as tf from '@tensorflow/tfjs';

/**
 * Back-propagation that lets go of memory as it goes.
 *
 * tfjs-core's engine.gradients (4.22, dist/engine.js + dist/tape.js) walks the tape backwards and keeps
 * every intermediate gradient in a map, and every tensor a kernel saved for its gradient, until the
 * whole backward pass ends. So a training step peaks holding all saved activations *and* all
 * activation gradients at once. installEagerBackward() replaces the engine's `gradients` with the same
 * walk (same nodes, same order, same kernels, so the same floats) that additionally
 *  - disposes a node's output gradients once the node has back-propagated them (its producer is the
 *    only reader left: the walk is in reverse tape order, so every consumer came before), and
 *  - disposes the node's saved tensors (clones the engine made for this node alone) right after its
 *    gradient ran, instead of at the end.
 * The gradients of `xs` and a caller's `dy` are never freed. Higher-order gradients (a gradient taken
 * while another tape records) go to the engine's own implementation unchanged.
 * Measured (tests/model/memory-guard.test.ts): the stories260K CLO LoRA step at batch 8 × 128 on wasm
 * peaks at 306 MiB instead of 747 MiB with tfjs' walk, with the same loss; tests/model/backprop.test.ts
 * checks the same gradients to the bit.
 */

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

type GradientsFn = (
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients?: boolean,
) => { value: tf.Tensor; grads: tf.Tensor[] };

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
  gradients: GradientsFn;
  [ORIGINAL]?: GradientsFn;
}

const ORIGINAL = Symbol('clo-original-gradients');

/** The tape nodes on a path from some x to y, each with only its inputs that depend on an x (as tfjs does). */
function nodesFromXToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodeFromX = new Set<number>();
  for (const node of tape)
    for (const name in node.inputs)
      if (fromX.has(node.inputs[name].id)) {
        node.outputs.forEach((o) => fromX.add(o.id));
        nodeFromX.add(node.id);
        break;
      }
  const toY = new Set<number>([y.id]);
  const nodeToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const name in node.inputs) {
        toY.add(node.inputs[name].id);
        nodeToY.add(node.id);
      }
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodeFromX.has(node.id) || !nodeToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const name in node.inputs) if (fromX.has(node.inputs[name].id)) inputs[name] = node.inputs[name];
    out.push({ ...node, inputs });
  }
  return out;
}

function backprop(
  grads: Map<number, tf.Tensor>,
  tape: TapeNode[],
  keep: Set<number>,
  keepTensor: tf.Tensor | undefined,
  tidy: <T extends tf.TensorContainer>(f: () => T) => T,
): void {
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
    if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const names = Object.keys(node.inputs);
    // One tidy around the node's gradient: a custom gradient computes all its results eagerly in
    // node.gradient (outside tfjs' per-input tidy), and its intermediates would live to the end.
    const dxs = tidy(() => {
      const inputGradients = node.gradient!(dys);
      return names.map((name) => {
        if (!(name in inputGradients))
          throw new Error(
            `Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`,
          );
        return inputGradients[name]();
      });
    });
    const made = new Set<tf.Tensor>();
    names.forEach((name, k) => {
      const dx = dxs[k];
      if (dx.dtype !== 'float32')
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`,
        );
      const x = node.inputs[name];
      if (!tf.util.arraysEqual(dx.shape, x.shape))
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
        );
      const cur = grads.get(x.id);
      if (cur == null) grads.set(x.id, dx);
      else {
        grads.set(x.id, tf.add(cur, dx));
        cur.dispose();
      }
    });
    for (const name in node.inputs) {
      const g = grads.get(node.inputs[name].id);
      if (g) made.add(g);
    }
    // This node was the last reader of its outputs' gradients (unless one was passed on as is).
    for (const o of node.outputs) {
      const g = grads.get(o.id);
      if (!g || keep.has(o.id) || g === keepTensor || made.has(g)) continue;
      grads.delete(o.id);
      g.dispose();
    }
    for (const s of node.saved ?? []) if (!made.has(s)) s.dispose();
  }
}

function eagerGradients(this: EngineInternals, f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allow = false) {
  const original = this[ORIGINAL]!;
  if (this.state.gradientDepth > 0) return original.call(this, f, xs, dy, allow);
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  const y = this.scopedRun(
    () => this.startTape(),
    () => this.endTape(),
    () => this.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
  const tape = this.state.activeTape ?? [];
  const filtered = nodesFromXToY(tape, xs, y);
  if (!allow && filtered.length === 0 && xs.length > 0)
    throw new Error(
      'Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.',
    );
  return this.tidy('backward', () => {
    const grads = new Map<number, tf.Tensor>();
    grads.set(y.id, dy ?? tf.ones(y.shape));
    backprop(grads, filtered, new Set(xs.map((x) => x.id)), dy, (g) => tf.tidy(g));
    const out = xs.map((x) => grads.get(x.id)) as tf.Tensor[];
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    this.state.activeTape = null;
    return { value: y, grads: out };
  });
}

/**
 * Replace tfjs' engine.gradients with the eager-freeing walk (idempotent), for the whole process: one of
 * the patches installLabKernels (kernels/install.ts) makes at backend start.
 */
export function installEagerBackward(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine[ORIGINAL]) return;
  engine[ORIGINAL] = engine.gradients;
  engine.gradients = eagerGradients;
}

/** Put tfjs' own engine.gradients back (tests compare both). */
export function uninstallEagerBackward(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (!engine[ORIGINAL]) return;
  engine.gradients = engine[ORIGINAL];
  delete engine[ORIGINAL];
}
