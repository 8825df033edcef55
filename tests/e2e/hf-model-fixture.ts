/**
 * Writes a small random-weight Llama in Hugging Face layout (config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json) to a folder, for the browser tests. The tokenizer is a
 * byte-level BPE with byte fallback (<0x00>…<0xFF>), so Korean and English text both encode. Shapes
 * differ from stories260K on purpose (dim 48, 3 layers, vocab 300) so a test can tell the models apart.
 * serveModelFolder() serves such a folder over HTTP, with Range requests and a connection that drops.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { defaultConfig } from '../../src/lib/model/config';
import { randomWeights } from '../../src/lib/model/random';
import { writeSafetensors } from '../../src/lib/formats/safetensors';
import { hfConfigJson, llamaTensors, quantizeWeights } from '../helpers/hf-fixtures';

export const TINY = { dim: 48, nLayers: 3, nHeads: 4, nKvHeads: 2, hiddenDim: 96, vocabSize: 300, maxSeqLen: 256 };

function byteFallbackTokenizer(vocabSize: number): { tokenizerJson: object; tokenizerConfig: object } {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  let id = 3;
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = id++;
  const letters = 'abcdefghijklmnopqrstuvwxyz.,!?▁';
  for (const ch of letters) if (id < vocabSize) vocab[ch] = id++;
  while (id < vocabSize) vocab[`<extra_${id}>`] = id++;
  return {
    tokenizerJson: {
      version: '1.0',
      added_tokens: [
        { id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
        { id: 1, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
        { id: 2, content: '</s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      ],
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: '▁' },
          { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
        ],
      },
      pre_tokenizer: null,
      post_processor: null,
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: '<unk>',
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: true,
        byte_fallback: true,
        vocab,
        merges: [],
      },
    },
    tokenizerConfig: {
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
      add_bos_token: true,
      chat_template: '{% for m in messages %}{{ m.content }}{% endfor %}',
    },
  };
}

/** Writes the folder `dir/name` and returns its path. */
export function writeTinyHfLlama(dir: string, name = 'tiny-ko-llama', seed = 11): string {
  const config = defaultConfig({ arch: 'llama', ...TINY, tiedEmbeddings: false, normEps: 1e-5, bosId: 1, eosId: 2 });
  const weights = quantizeWeights(randomWeights(config, seed));
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const cfg = { ...hfConfigJson(config), bos_token_id: 1, eos_token_id: 2 };
  writeFileSync(join(folder, 'config.json'), JSON.stringify(cfg));
  const tok = byteFallbackTokenizer(config.vocabSize);
  writeFileSync(join(folder, 'tokenizer.json'), JSON.stringify(tok.tokenizerJson));
  writeFileSync(join(folder, 'tokenizer_config.json'), JSON.stringify(tok.tokenizerConfig));
  writeFileSync(join(folder, 'model.safetensors'), writeSafetensors(llamaTensors(weights, 'F32'), { format: 'pt' }));
  return folder;
}

export interface ServedRequest {
  method: string;
  /** path under the server, e.g. "/tiny/model.safetensors" */
  path: string;
  range: string | null;
}

export interface ModelServer {
  /** the folder's URL, ending in "/" */
  url: string;
  /** every request, in order */
  requests: ServedRequest[];
  close(): Promise<void>;
}

/**
 * Serves a model folder over HTTP with CORS (for a page on another origin), `Range: bytes=N-`
 * (206 with Content-Range), and each file's sha256 as its ETag, as Hugging Face does for LFS files.
 * With `dropFirst`, the first GET of that file sends about half the bytes and then cuts the connection.
 */
export async function serveModelFolder(folder: string, opts: { dropFirst?: string } = {}): Promise<ModelServer> {
  const requests: ServedRequest[] = [];
  let dropped = false;
  const cors = {
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'range',
    'access-control-expose-headers': 'content-length, content-range, etag, accept-ranges',
    'cross-origin-resource-policy': 'cross-origin',
  };
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const range = req.headers.range ?? null;
    requests.push({ method: req.method ?? 'GET', path, range });
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'access-control-allow-methods': 'GET, HEAD' });
      res.end();
      return;
    }
    const name = path.split('/').slice(2).join('/');
    const file = join(folder, name);
    if (!name || name.includes('..') || !existsSync(file)) {
      res.writeHead(404, { ...cors, 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const body = readFileSync(file);
    const headers: Record<string, string> = {
      ...cors,
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: `"${createHash('sha256').update(body).digest('hex')}"`,
    };
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    const from = m ? Number(m[1]) : 0;
    if (m && from >= body.length) {
      res.writeHead(416, { ...cors, 'content-range': `bytes */${body.length}` });
      res.end();
      return;
    }
    if (m) headers['content-range'] = `bytes ${from}-${body.length - 1}/${body.length}`;
    headers['content-length'] = String(body.length - from);
    res.writeHead(m ? 206 : 200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (opts.dropFirst === name && !dropped && req.method === 'GET') {
      dropped = true;
      // promise the whole file, send half, give the browser time to take it, hang up
      res.write(body.subarray(from, from + ((body.length - from) >> 1)), () =>
        setTimeout(() => res.socket?.destroy(), 500),
      );
      return;
    }
    res.end(body.subarray(from));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/${basename(folder)}/`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
