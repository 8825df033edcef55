/** Streams a generation from the worker: resolves with the full text, calls onToken for each token. */
import type { GenerateCommand } from '../../../workers/train/protocol';
import { onWorkerEvent, send } from './worker';

let seq = 0;

export function generateStream(
  opts: Omit<GenerateCommand, 'type' | 'requestId'>,
  onToken: (text: string) => void,
): Promise<{ text: string; ms: number }> {
  const requestId = `gen-${++seq}`;
  return new Promise((resolve, reject) => {
    const off = onWorkerEvent((e) => {
      if (e.type === 'token' && e.requestId === requestId) onToken(e.text);
      else if (e.type === 'done' && e.what === 'generate' && e.requestId === requestId) {
        off();
        resolve({ text: e.text, ms: e.ms });
      } else if (e.type === 'error' && (e.requestId === requestId || e.fatal)) {
        off();
        reject(new Error(e.message));
      }
    });
    try {
      send({ type: 'generate', requestId, ...opts });
    } catch (err) {
      off();
      reject(err);
    }
  });
}
