/**
 * The one error type the library throws for bad input. The CLI prints its message on one line and exits
 * non-zero; anything else reaching the CLI is a bug and is reported as such.
 */
export class MemoriaNovaError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode = 'invalid-input',
  ) {
    super(message);
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
