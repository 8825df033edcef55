import { defineConfig } from 'vitest/config';
// @ts-expect-error plain .mjs helper without types
import { vulkanEnv } from './cli/vulkan-env.mjs';

// Forked test workers inherit this, so Dawn (webgpu in Node) can load Vulkan/SwiftShader where present.
Object.assign(process.env, vulkanEnv());

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/e2e/**', '**/node_modules/**'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
