import type { LoraSnapshot } from '../src/lib/lora/types';
import type { LoadedModel } from '../src/lib/model/model';
import { peftFileMap, toPeft } from '../src/lib/formats/peft';
import { atomicWriteFiles } from './safe-write';

/** Write a LoRA snapshot as a PEFT adapter folder (all files complete before any is renamed into place); returns the file names. */
export async function writeAdapterDir(dir: string, snap: LoraSnapshot, model: LoadedModel): Promise<string[]> {
  const files = peftFileMap(toPeft(snap, model.config, model.source));
  return atomicWriteFiles(dir, files);
}
