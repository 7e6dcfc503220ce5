/** Longest error message, in characters. */
const MAX_MESSAGE = 1000;

/**
 * The one error type the library throws for bad input. The CLI prints its message on one line and exits
 * non-zero; anything else reaching the CLI is a bug and is reported as such.
 */
export class MemoriaNovaError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode = 'invalid-input',
  ) {
    // Names from a model file may hold control characters; the message must stay one printable line.
    // Values are cut where they are quoted (`cut`); this is the last guard: a name in a file may be megabytes long.
    super(cut(message, MAX_MESSAGE).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
    this.name = 'MemoriaNovaError';
  }
}

export type ErrorCode =
  | 'invalid-input'
  | 'invalid-model'
  | 'unsupported-operator'
  | 'dynamic-shape'
  | 'cyclic-graph'
  | 'infeasible'
  | 'invalid-cluster'
  | 'invalid-plan'
  | 'runtime-failure'
  | 'usage';

export function fail(message: string, code: ErrorCode = 'invalid-input'): never {
  throw new MemoriaNovaError(message, code);
}

/** A value quoted in an error message, cut to about `max` characters ("…" marks the cut): a file may hold a 10-million-entry list. */
export function cut(text: string, max = 100): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
