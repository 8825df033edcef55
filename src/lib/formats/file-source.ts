/**
 * A set of named files, wherever they live: picked in the browser (File/Blob), a Node directory
 * (cli/node-files.ts), a URL base (url-source.ts) or memory (tests).
 */
import type { ChunkedSource } from './safetensors';

export interface FileSource {
  /** relative paths, '/'-separated */
  list(): string[];
  read(name: string): Promise<Uint8Array>;
  /** ranged reads, so large files never need one big buffer */
  chunked?(name: string): ChunkedSource | Promise<ChunkedSource>;
  /** where the files come from, for messages and provenance (a path or a URL) */
  readonly description?: string;
}

export function memorySource(files: Record<string, Uint8Array | string>, description = 'memory'): FileSource {
  const enc = new TextEncoder();
  const m = new Map(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? enc.encode(v) : v]));
  return {
    description,
    list: () => [...m.keys()],
    read: async (n) => {
      const b = m.get(n);
      if (!b) throw new Error(`${description}: no file "${n}"`);
      return b;
    },
    chunked: (n) => {
      const b = m.get(n);
      if (!b) throw new Error(`${description}: no file "${n}"`);
      return { size: b.length, read: async (o, l) => b.subarray(o, o + l) };
    },
  };
}

/** Files picked in a browser (or any Blob): `name` is the relative path (webkitRelativePath or name). */
export interface NamedBlob {
  name: string;
  blob: Blob;
}

export function blobSource(files: NamedBlob[], description = 'selected files'): FileSource {
  const m = new Map(files.map((f) => [f.name, f.blob]));
  const get = (n: string) => {
    const b = m.get(n);
    if (!b) throw new Error(`${description}: no file "${n}"`);
    return b;
  };
  return {
    description,
    list: () => [...m.keys()],
    read: async (n) => new Uint8Array(await get(n).arrayBuffer()),
    chunked: (n) => {
      const b = get(n);
      return { size: b.size, read: async (o, l) => new Uint8Array(await b.slice(o, o + l).arrayBuffer()) };
    },
  };
}

/**
 * A view of `src` rooted at the folder that holds `marker` (e.g. config.json), so a picked folder
 * "MyModel/config.json" reads as "config.json". Picks the shallowest match.
 */
export function rootedAt(src: FileSource, marker: string): FileSource {
  const hits = src.list().filter((n) => n === marker || n.endsWith('/' + marker));
  if (hits.length === 0) return src;
  hits.sort((a, b) => a.split('/').length - b.split('/').length || a.length - b.length);
  const prefix = hits[0].slice(0, hits[0].length - marker.length);
  if (!prefix) return src;
  const chunked = src.chunked;
  return {
    description: src.description ? `${src.description}/${prefix.replace(/\/$/, '')}` : prefix,
    list: () =>
      src
        .list()
        .filter((n) => n.startsWith(prefix))
        .map((n) => n.slice(prefix.length)),
    read: (n) => src.read(prefix + n),
    chunked: chunked ? (n) => chunked.call(src, prefix + n) : undefined,
  };
}
