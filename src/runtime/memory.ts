import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Process memory as the runtime reports it (docs/runtime.md, "Memory"): Linux's resident set size and its
 * high-water mark from /proc/self/status; elsewhere Node's rss stands in for both.
 */
function statusField(field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

export function residentBytes(): number {
  return statusField('VmRSS') ?? process.memoryUsage().rss;
}

/** Peak resident bytes since the last resetPeak(). */
export function peakResidentBytes(): number {
  return Math.max(statusField('VmHWM') ?? 0, residentBytes());
}

/** Restarts the high-water mark at the current resident size (Linux: writing 5 to /proc/self/clear_refs). */
export function resetPeak(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux, or not permitted: the peak then spans the process' life, an over-estimate.
  }
}
