#!/usr/bin/env node
// Starts a TypeScript entry point (cli/lab.ts, bench/bench.ts) under tsx with the Vulkan environment set.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { vulkanEnv } from './vulkan-env.mjs';

const [entry, ...args] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const tsxCli = require.resolve('tsx/cli');
const child = spawn(process.execPath, [tsxCli, entry, ...args], {
  stdio: 'inherit',
  env: { ...process.env, ...vulkanEnv() },
});
child.on('exit', (code, signal) =>
  process.exit(code ?? (signal === 'SIGINT' || signal === 'SIGTERM' ? 130 : signal ? 1 : 0)),
);
// Pass termination signals on, so `kill -TERM` on `npm run lab -- train …` lets the run save a checkpoint
// (Ctrl-C already reaches the whole process group).
for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
// Ctrl-C reaches the child itself; the launcher waits for it to finish saving instead of exiting first.
process.on('SIGINT', () => {});
