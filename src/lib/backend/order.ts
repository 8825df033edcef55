/**
 * The one list of tfjs backends the lab knows, in the order "auto" tries them, and the rule that
 * moves a software WebGPU adapter (SwiftShader, llvmpipe: correct but slower than wasm on a CPU)
 * behind wasm. That rule only orders the start: the backend a run trains on under "auto" is decided
 * by measuring both (./auto-pick.ts). The workers (workers/host/boot.ts), the header's force control and the CLI
 * (cli/node-env.ts, cli/common-flags.ts) all read it from here.
 */
export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Fastest first where each backend runs on real hardware. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Backends that exist in Node (no WebGL there). */
export const NODE_BACKENDS: readonly BackendName[] = BACKEND_ORDER.filter((b) => b !== 'webgl');

export interface AutoOrder {
  order: BackendName[];
  /** why the order differs from BACKEND_ORDER (shown in the header / printed by the CLI); null when it does not */
  demoted: { name: BackendName; reason: string } | null;
}

/**
 * The order "auto" tries on this machine: `available` filtered from BACKEND_ORDER; when the only
 * WebGPU adapter is a software one (see isSoftwareAdapter in select.ts), WebGPU and WebGL (which
 * then runs on the same software rasteriser) go after wasm.
 */
export function autoOrder(
  softwareAdapter: string | null,
  available: readonly BackendName[] = BACKEND_ORDER,
): AutoOrder {
  const base = BACKEND_ORDER.filter((b) => available.includes(b));
  if (!softwareAdapter || !base.includes('wasm')) return { order: base, demoted: null };
  const gpu = base.filter((b) => b === 'webgpu' || b === 'webgl');
  const rest = base.filter((b) => b !== 'webgpu' && b !== 'webgl');
  const at = rest.indexOf('wasm') + 1;
  return {
    order: [...rest.slice(0, at), ...gpu, ...rest.slice(at)],
    demoted: { name: 'webgpu', reason: `software adapter (${softwareAdapter}): likely slower than wasm on a CPU` },
  };
}
