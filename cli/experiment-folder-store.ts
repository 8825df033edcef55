/**
 * The Node ExperimentStore (src/lib/store/experiments.ts): one experiment per folder.
 * Records are JSON files under DIR/.state/ (typed arrays as base64), or, for bytes (an arm's
 * checkpoint.safetensors), `.safetensors` files there; report files go to DIR itself,
 * so `experiment --out DIR` leaves report.md, *.csv, *.svg and report.json at the top of DIR and an
 * interrupted run resumes from DIR/.state/.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { atomicWriteFile } from './safe-write';
import { join } from 'node:path';
import type { ExperimentStore } from '../src/lib/store/experiments';

const TAG = '$f32';

function encode(_k: string, v: unknown): unknown {
  if (v instanceof Float32Array) return { [TAG]: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  return v;
}
function decode(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && TAG in (v as object)) {
    const b = Buffer.from((v as Record<string, string>)[TAG], 'base64');
    const out = new Float32Array(b.byteLength / 4);
    new Uint8Array(out.buffer).set(b);
    return out;
  }
  return v;
}

const safe = (key: string) => key.replace(/[^a-zA-Z0-9_.-]/g, '_');

export function folderExperimentStore(dir: string): ExperimentStore {
  const stateDir = join(dir, '.state');
  const rec = (key: string) => join(stateDir, `${safe(key)}.json`);
  const bin = (key: string) => join(stateDir, `${safe(key)}.safetensors`);
  const atomic = atomicWriteFile;
  return {
    async get<T>(_id: string, key: string) {
      if (existsSync(bin(key))) return new Uint8Array(readFileSync(bin(key))) as T;
      const p = rec(key);
      return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8'), decode) as T) : undefined;
    },
    async set(_id, key, value) {
      if (value instanceof Uint8Array) {
        atomic(bin(key), value);
        rmSync(rec(key), { force: true });
      } else {
        atomic(rec(key), JSON.stringify(value, encode));
        rmSync(bin(key), { force: true });
      }
    },
    async del(_id, key) {
      rmSync(rec(key), { force: true });
      rmSync(bin(key), { force: true });
    },
    async writeFile(_id, name, content) {
      atomic(join(dir, name), content);
    },
    async readFile(_id, name) {
      const p = join(dir, name);
      return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
    },
    async list() {
      const p = rec('state');
      if (!existsSync(p)) return [];
      return [(JSON.parse(readFileSync(p, 'utf8')) as { id: string }).id];
    },
  };
}
