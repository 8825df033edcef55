import * as tf from '@tensorflow/tfjs';

/**
 * tfjs-wasm's Identity kernel copies its input. The engine runs Identity for every tensor it keeps for a
 * backward pass (saveTensorsForBackwardMode → clone), so a training step copied each saved activation
 * once more (~600 copies per stories260K step). Tensors are immutable and the wasm backend counts
 * references per buffer (its Reshape shares the buffer the same way), so Identity can share the input's
 * buffer instead, as the cpu and webgl backends do. Installed by installLabKernels (../install.ts) at
 * backend start.
 */
let installed = false;

export function shareWasmIdentity(): void {
  if (installed) return;
  const orig = tf.getKernel('Identity', 'wasm');
  if (!orig) return;
  installed = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    ...orig,
    kernelFunc: (args) => {
      const x = args.inputs.x as unknown as { dataId: object; shape: number[]; dtype: tf.DataType };
      if (x.dtype === 'string') return orig.kernelFunc(args);
      (args.backend as unknown as { incRef(id: object): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype } as unknown as tf.TensorInfo;
    },
  });
}
