// Types of scripts/platform.js (plain CommonJS: the install script runs it
// before TypeScript is compiled).
export interface SupportedPlatform {
  readonly os: string;
  readonly arch: string;
  readonly libc: 'glibc' | 'musl';
  readonly name: string;
}
export interface PlatformProbe {
  platform: string;
  arch: string;
  glibcVersionRuntime?: string | undefined;
  lddText?: string | undefined;
  muslLoader?: boolean | undefined;
}
export interface Platform {
  os: string;
  arch: string;
  /** Linux only: which C library node links. */
  libc: 'glibc' | 'musl' | 'unknown' | undefined;
  /** like linux-x64-glibc, darwin-arm64 */
  id: string;
  /** like "Linux x64 (glibc)", "macOS arm64" */
  name: string;
}
export const SUPPORTED_PLATFORMS: readonly SupportedPlatform[];
export const PREBUILT_NODE_MAJORS: readonly number[];
export function detectLibc(probe: PlatformProbe): 'glibc' | 'musl' | 'unknown';
export function describePlatform(probe?: PlatformProbe): Platform;
export function probeFromOverride(value: string): PlatformProbe;
export function currentPlatform(): Platform;
export function unsupportedReason(platform: Platform): string | null;
