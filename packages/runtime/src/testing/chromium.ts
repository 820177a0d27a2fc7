/*
 * How the workspace's browser tests start Debian's Chromium (the one CI installs with apt; a browser is
 * never downloaded). Kept here, in the lowest package whose tests drive a browser through the runtime,
 * so the runtime's own browser tests and bench's launcher (`launchChromium`) share one set of flags:
 * runtime's tests may not import bench, which depends on runtime. Plain data, no playwright import: the
 * published `./testing` entry must not pull a browser driver into its bundle (test-page.ts loads it
 * only when a page opens, and the build leaves it out).
 */

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless, no sandbox (containers), no GPU, and no network or background services of its own. */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
];

/**
 * Added to CHROMIUM_FLAGS, these give pages a real WebGPU adapter with no GPU at all: Chromium's Dawn
 * runs on SwiftShader, a Vulkan implementation on the CPU that Debian ships with Chromium
 * (libvk_swiftshader.so beside the browser), so `navigator.gpu.requestAdapter()` answers with
 * { vendor: 'google', architecture: 'swiftshader' } and devices work, shaders compile and kernels run.
 * Its adapter does not offer 'shader-f16', so it also shows what happens to float16 models on a GPU
 * without it. Pages must be a secure context (http://localhost, not about:blank) to see navigator.gpu.
 * `--disable-gpu` may stay: it turns off the compositor's GPU, not WebGPU on SwiftShader.
 */
export const WEBGPU_FLAGS: readonly string[] = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

export interface ChromiumOptions {
  /** Add WEBGPU_FLAGS (default false: pages then have navigator.gpu but no adapter). */
  readonly webgpu?: boolean;
}

/** The command-line flags for a launch: the house flags, plus SwiftShader's WebGPU when asked. */
export function chromiumFlags(options: ChromiumOptions = {}): string[] {
  return [...CHROMIUM_FLAGS, ...(options.webgpu ? WEBGPU_FLAGS : [])];
}
