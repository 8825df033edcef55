/**
 * Refuses an adapter that does not belong to the loaded model: other base model, other dimensions,
 * or target modules the model lacks. The message names both models so the person knows which one
 * to load (Model view). Then the engine's adapter validation (src/lib/lora/validate-adapter.ts, as the
 * CLI runs it): rank and alpha positive and finite, A/B shapes equal to the model's, targets that are
 * linear layers, every value finite; its one-line message names the run and the tensor.
 * Framework-free; used by every worker (train: resume and generate; eval) before it builds a LoRA state.
 */
import type { LoadedModel } from '../../src/lib/model/model';
import type { LoraSnapshot } from '../../src/lib/lora/types';
import { linearShape } from '../../src/lib/lora/lora';
import { describeRef, type ModelRef } from '../../src/lib/formats/model-spec';
import { validateAdapter } from '../../src/lib/lora/validate-adapter';

export class AdapterMismatch extends Error {
  override name = 'AdapterMismatch';
}

function loadedRef(m: LoadedModel): string {
  return `${m.name} (dim ${m.config.dim}, ${m.config.nLayers} layers, vocab ${m.config.vocabSize})`;
}

/**
 * @param runName   shown in the message
 * @param trainedOn the run record's model name and (newer records) its ModelRef
 */
export function checkAdapterFits(
  model: LoadedModel,
  snap: LoraSnapshot,
  runName: string,
  trainedOn: { modelName: string; model?: ModelRef },
): void {
  const theirs = trainedOn.model ? describeRef(trainedOn.model) : trainedOn.modelName;
  const refuse = (why: string) => {
    throw new AdapterMismatch(
      `The adapter of "${runName}" was trained on ${theirs}, but ${loadedRef(model)} is loaded: ${why}. Load ${trainedOn.model?.name ?? trainedOn.modelName} in the Model view first.`,
    );
  };
  if (trainedOn.modelName !== model.name) refuse('a different base model');
  const d = trainedOn.model?.dims;
  if (d) {
    for (const k of ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'vocabSize'] as const) {
      if (d[k] !== model.config[k]) refuse(`${k} ${d[k]} ≠ ${model.config[k]}`);
    }
  }
  for (const [key, t] of Object.entries(snap.tensors)) {
    const [layerStr, target] = key.split('.');
    const layer = Number(layerStr);
    if (!Number.isInteger(layer) || layer < 0 || layer >= model.config.nLayers)
      refuse(`it has layer ${layerStr}, the model has ${model.config.nLayers} layers`);
    if (!model.weights.layers[layer].linears[target as keyof (typeof model.weights.layers)[number]['linears']])
      refuse(`target module ${target} is not in this model`);
    const [out, inp] = linearShape(model.config, target as Parameters<typeof linearShape>[1]);
    if (t.aShape[1] !== inp || t.bShape[0] !== out)
      refuse(`${key} is ${t.bShape[0]}×${t.aShape[1]}, this model's is ${out}×${inp}`);
  }
  validateAdapter(snap, model, `the adapter of "${runName}"`);
}
