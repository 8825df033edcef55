import type { Objective } from './types';
import { sft } from './sft';
import { dpo } from './dpo';
import { orpo } from './orpo';
import { clo } from './clo';
import { pt } from './pt';

export const OBJECTIVES: Record<string, Objective> = { sft, dpo, orpo, clo, pt };

export function getObjective(name: string): Objective {
  const o = OBJECTIVES[name];
  if (!o) throw new Error(`unknown objective "${name}" (expected one of: ${Object.keys(OBJECTIVES).join(', ')})`);
  return o;
}
export type { Objective } from './types';
