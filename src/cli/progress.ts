import type { BTSearchProgress } from '../ordering/btsearch.ts';
import { mebibytes } from './options.ts';

/** BTSearch's status line: time of its budget, best peak so far, proven lower bound. */
export function btsearchStatus(p: BTSearchProgress, limitMs: number): string {
  return `${(p.elapsedMs / 1000).toFixed(1)}/${(limitMs / 1000).toFixed(1)} s, best peak ${mebibytes(p.peakBytes)}, lower bound ${mebibytes(p.lowerBoundBytes)}`;
}

/** Where progress goes: stderr, or a test's stand-in. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** False: print nothing at all (`--json` keeps stderr for errors only when asked to; default true). */
  enabled?: boolean;
  /** Off a terminal, at most one update line per this many ms within a phase (default 5000). */
  intervalMs?: number;
  /** Clock (ms); default performance.now. */
  now?: () => number;
}

/** Off a terminal, at most one line per phase per this many ms. */
export const PLAIN_INTERVAL_MS = 5000;
/** On a terminal, the bar is redrawn at most this often. */
const BAR_REDRAW_MS = 100;
const BAR_WIDTH = 30;

/**
 * Progress of long work on stderr, never on stdout. On a terminal one bar per phase, redrawn in place; elsewhere
 * (pipes, CI logs) sparse plain lines: one when a phase starts, at most one every `intervalMs` while it runs, and one
 * when it ends with a summary. Each plain line starts with the seconds since the command started.
 */
export class Progress {
  private readonly stream: ProgressStream;
  private readonly enabled: boolean;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private name = '';
  private total = 0;
  private lastWrite = Number.NEGATIVE_INFINITY;
  private barShown = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.enabled = options.enabled ?? true;
    this.tty = this.stream.isTTY === true;
    this.intervalMs = options.intervalMs ?? PLAIN_INTERVAL_MS;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  /** Starts a phase; `total` is the bar's full length in the unit `update` counts (0: no bar, only the label). */
  phase(name: string, total = 0, detail = ''): void {
    this.clearBar();
    this.name = name;
    this.total = total;
    this.lastWrite = this.now();
    if (!this.enabled) return;
    if (this.tty) this.drawBar(0, detail);
    else this.line(detail === '' ? `${name} …` : `${name}: ${detail}`);
  }

  /** `done` of the phase's total (or of `total`, when the phase learns it late), with a short status. */
  update(done: number, detail = '', total?: number): void {
    if (total !== undefined) this.total = total;
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.lastWrite < (this.tty ? BAR_REDRAW_MS : this.intervalMs)) return;
    this.lastWrite = now;
    if (this.tty) this.drawBar(done, detail);
    else this.line(`${this.name}: ${this.total > 0 ? `${percent(done, this.total)} ` : ''}${detail}`.trimEnd());
  }

  /** Ends the phase with its result (printed as one line in both modes); `name` labels a result that had no phase of its own. */
  end(summary = '', name = this.name): void {
    this.clearBar();
    if (this.enabled && summary !== '') this.line(`${name}: ${summary}`);
    this.name = '';
  }

  /** One line that is not a phase (a note between phases). */
  note(text: string): void {
    this.clearBar();
    if (this.enabled) this.line(text);
  }

  private line(text: string): void {
    const seconds = ((this.now() - this.started) / 1000).toFixed(1);
    this.stream.write(this.tty ? `${text}\n` : `[${seconds} s] ${text}\n`);
  }

  private drawBar(done: number, detail: string): void {
    const fraction = this.total > 0 ? Math.min(1, Math.max(0, done / this.total)) : 0;
    const filled = Math.round(fraction * BAR_WIDTH);
    const bar = this.total > 0 ? ` |${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}| ${percent(done, this.total)}` : '';
    this.stream.write(`\r\x1b[K${this.name}${bar}${detail === '' ? '' : `  ${detail}`}`);
    this.barShown = true;
  }

  private clearBar(): void {
    if (!this.barShown) return;
    this.stream.write('\r\x1b[K');
    this.barShown = false;
  }
}

function percent(done: number, total: number): string {
  return `${Math.round(Math.min(1, Math.max(0, done / total)) * 100)}%`;
}
