import { helpText, parseArgs, type Spec } from '../args';
import { initNodeBackend, loadModelArg } from '../node-env';
import { countParams } from '../../src/lib/model/config';

const SPEC: Spec = {
  model: { type: 'string', help: 'stories260K, a llama2.c .bin, or a Hugging Face folder', default: 'stories260K' },
  tokenizer: { type: 'string', help: 'llama2.c tokenizer .bin (for a .bin model)' },
  backend: { type: 'string', help: 'webgpu | wasm | cpu (default: fastest that works)', choices: ['webgpu', 'wasm', 'cpu'] },
  json: { type: 'boolean', help: 'print one JSON document' },
  help: { type: 'boolean', help: 'show this help' },
};

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, SPEC, 'info');
  if (a.help) return console.log(helpText('info', 'Loads and describes a model.', SPEC)), 0;
  const backend = await initNodeBackend(a.backend as string | undefined, (s) => process.stderr.write(s + '\n'));
  const m = await loadModelArg(a.model as string, a.tokenizer as string | undefined);
  const c = m.config;
  const out = { arch: c.arch, n_params: countParams(c), vocab_size: c.vocabSize, n_layers: c.nLayers, dim: c.dim, max_seq_len: c.maxSeqLen, backend: backend.name };
  if (a.json) console.log(JSON.stringify(out));
  else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(12)} ${v}`);
  return 0;
}
