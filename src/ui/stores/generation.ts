/** Streams a generation from the training worker: resolves with the full text, calls onToken for each token. */
import type { GenerateArgs } from '../../../workers/train/protocol';
import { trainJobs } from '../../../workers/host/registry';

export async function generateStream(
  opts: GenerateArgs,
  onToken: (text: string) => void,
): Promise<{ text: string; ms: number }> {
  const r = await trainJobs.call('generate', opts, { onProgress: (t) => onToken(t.text) });
  return { text: r.text, ms: r.ms };
}
