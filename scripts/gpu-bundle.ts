/**
 * `npm run bench:gpu-bundle`: writes a self-contained folder that runs the GPU bench with one command
 * on a Linux x86-64 machine with a GPU and no network (bench/gpu/run.sh says how it runs):
 *
 *   gpu-bench.mjs       bench/gpu/gpu-bench.ts and the engine, bundled into one file (esbuild)
 *   node.gz             this Node binary, gzip-compressed (run.sh unpacks it once)
 *   node_modules/webgpu Dawn's `dawn.node` for linux-x64 (gzip-compressed, unpacked by run.sh) and
 *                       the package's loader
 *   lib/libvulkan.so.1  the Vulkan loader, for machines without one (Chromium's or Debian's libvulkan1)
 *   models/stories260K  the embedded model
 *   torch_gpu.py        PyTorch CUDA on the same steps (f32 and bf16 autocast)
 *   run.sh, README.txt
 *
 *   npm run bench:gpu-bundle -- [--out dist/gpu-bench] [--skip-node]
 *
 * The folder must stay at most 60 MiB; the script fails when it does not.
 */
import { build } from 'esbuild';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'fflate';
import { parseArgs } from '../cli/args';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LIMIT = 60 * 2 ** 20;

const args = parseArgs(
  process.argv.slice(2),
  {
    out: { type: 'string', help: 'output folder (replaced)', default: 'dist/gpu-bench' },
    'skip-node': { type: 'boolean', help: 'leave the Node binary out (a quick check of the rest)' },
  },
  'bench:gpu-bundle',
);

const VULKAN_LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/chromium/libvulkan.so.1'];

function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? folderBytes(p) : statSync(p).size;
  }
  return n;
}

async function main() {
  const out = resolve(ROOT, args.out as string);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const say = (s: string) => process.stderr.write(`bench:gpu-bundle: ${s}\n`);

  await build({
    entryPoints: [join(ROOT, 'bench/gpu/gpu-bench.ts')],
    outfile: join(out, 'gpu-bench.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu'],
    minify: true,
    logLevel: 'warning',
    // CommonJS dependencies inside an ES module bundle call require()
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  say('bundled gpu-bench.mjs');

  const webgpu = join(ROOT, 'node_modules/webgpu');
  const dawnDir = join(out, 'node_modules/webgpu/dist/linux-x64');
  mkdirSync(dawnDir, { recursive: true });
  for (const f of ['package.json', 'index.js', 'LICENSE.md'])
    copyFileSync(join(webgpu, f), join(out, 'node_modules/webgpu', f));
  writeFileSync(
    join(dawnDir, 'dawn.node.gz'),
    gzipSync(new Uint8Array(readFileSync(join(webgpu, 'dist/linux-x64/dawn.node'))), { level: 9 }),
  );

  const loader = VULKAN_LOADERS.find((p) => existsSync(p));
  if (!loader)
    throw new Error(
      `no Vulkan loader to bundle (${VULKAN_LOADERS.join(' or ')}): install Debian's libvulkan1 or chromium`,
    );
  mkdirSync(join(out, 'lib'));
  copyFileSync(loader, join(out, 'lib/libvulkan.so.1'));

  mkdirSync(join(out, 'models/stories260K'), { recursive: true });
  for (const f of ['stories260K.bin', 'tok512.bin'])
    copyFileSync(join(ROOT, 'public/models/stories260K', f), join(out, 'models/stories260K', f));
  copyFileSync(join(ROOT, 'bench/gpu/torch_gpu.py'), join(out, 'torch_gpu.py'));
  copyFileSync(join(ROOT, 'bench/gpu/run.sh'), join(out, 'run.sh'));
  writeFileSync(
    join(out, 'README.txt'),
    [
      'CLO Lab GPU bench (built by `npm run bench:gpu-bundle`).',
      '',
      '  sh run.sh > rows.jsonl        WebGPU rows (Dawn over Vulkan), then PyTorch CUDA rows',
      '  sh run.sh --configs stories260K --steps 3',
      '',
      'Needs: Linux x86-64 (glibc 2.34+), a GPU with a Vulkan driver (the NVIDIA driver installs its',
      'ICD under /usr/share/vulkan/icd.d; VK_DRIVER_FILES can name one). PyTorch rows: python3 with',
      'torch built for CUDA. Rows with "gpu": false ran on a software adapter and are no GPU figures.',
      '',
    ].join('\n'),
  );

  if (!args['skip-node']) {
    const gz = gzipSync(new Uint8Array(readFileSync(process.execPath)), { level: 9 });
    writeFileSync(join(out, 'node.gz'), gz);
    say(`node ${process.version} compressed to ${(gz.length / 2 ** 20).toFixed(1)} MiB`);
  }
  const bytes = folderBytes(out);
  say(`${out}: ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  if (bytes > LIMIT) throw new Error(`the bundle is ${(bytes / 2 ** 20).toFixed(1)} MiB, over the 60 MiB limit`);
}

main().catch((err) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
