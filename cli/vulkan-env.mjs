// Environment that lets Dawn (the `webgpu` package) find a Vulkan driver on GPU-less machines:
// Debian's chromium ships libvulkan.so.1 and SwiftShader's ICD (see ../docs/webgpu-here.md).
// LD_LIBRARY_PATH is read by the dynamic loader at process start, so it must be set before Node starts.
import { existsSync } from 'node:fs';

const CHROMIUM_LIB = '/usr/lib/chromium';

export function vulkanEnv(env = process.env) {
  const out = {};
  if (env.CLO_NO_VULKAN_ENV) return out;
  if (existsSync(`${CHROMIUM_LIB}/libvulkan.so.1`) && !(env.LD_LIBRARY_PATH ?? '').includes(CHROMIUM_LIB))
    out.LD_LIBRARY_PATH = [CHROMIUM_LIB, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  if (!env.VK_ICD_FILENAMES && existsSync(`${CHROMIUM_LIB}/vk_swiftshader_icd.json`))
    out.VK_ICD_FILENAMES = `${CHROMIUM_LIB}/vk_swiftshader_icd.json`;
  return out;
}
