import type { LoraSnapshot } from '../src/lib/lora/types';
import type { LoadedModel } from '../src/lib/model/model';
import { peftFileMap, toPeft } from '../src/lib/formats/peft';
import { writeFileAtomic } from './atomic-write';

/** Write a LoRA snapshot as a PEFT adapter folder (each file atomically); returns the file names. */
export async function writeAdapterDir(dir: string, snap: LoraSnapshot, model: LoadedModel): Promise<string[]> {
  const files = peftFileMap(toPeft(snap, model.config, model.source));
  for (const [name, bytes] of files) writeFileAtomic(dir, name, bytes);
  return [...files.keys()];
}
