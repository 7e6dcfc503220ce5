import { fail } from '../errors.ts';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

/**
 * A memory size written with a unit: `256KiB`, `48MiB`, `1.5GiB` (powers of 1024), `500kB`, `2MB`, `1GB` (powers of
 * 1000) or plain bytes (`4096`, `4096B`). Units are case-insensitive; the result is rounded down to whole bytes.
 */
export function parseByteSize(text: string, option = 'size'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = UNITS[(match?.[2] ?? '').toLowerCase() || 'b'];
  if (match === null || unit === undefined)
    fail(`${option} must be a size such as 256KiB, 48MiB, 1.5GiB, 500kB or 4096 (bytes), got '${text}'`, 'usage');
  const bytes = Math.floor(Number(match[1]) * unit);
  if (!(bytes >= 1)) fail(`${option} must be at least 1 byte, got '${text}'`, 'usage');
  return bytes;
}

/** Bytes as the fit report prints them: KiB below 1 MiB, MiB below 1 GiB, else GiB (two decimals). */
export function formatBytes(bytes: number): string {
  if (bytes < 2 ** 20) return `${(bytes / 2 ** 10).toFixed(2)} KiB`;
  if (bytes < 2 ** 30) return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}
