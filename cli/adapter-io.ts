import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LoraSnapshot } from '../src/lib/lora/types';
import type { LoadedModel } from '../src/lib/model/model';
import { peftFileMap, toPeft } from '../src/lib/formats/peft';

/** Write a LoRA snapshot as a PEFT adapter folder; returns the file names. */
export async function writeAdapterDir(dir: string, snap: LoraSnapshot, model: LoadedModel): Promise<string[]> {
  const files = peftFileMap(toPeft(snap, model.config, model.source));
  for (const [name, bytes] of files) writeFileSync(resolve(dir, name), bytes);
  return [...files.keys()];
}
