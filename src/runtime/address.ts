import { fail } from '../errors.ts';

/**
 * A `host:port` address as given to `worker --listen` and `run --workers`. IPv6 hosts are written in brackets
 * (`[::1]:7000`); the port is 0–65535 (0 only where the system picks one: `--listen`).
 */
export function parseHostPort(value: string, option: string, allowPortZero = false): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/@?#]+):(\d{1,5})$/.exec(value);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65535 || (port === 0 && !allowPortZero))
    fail(`${option} must be HOST:PORT with a port from ${allowPortZero ? 0 : 1} to 65535, got '${value}'`, 'usage');
  return { host: match[1]!, port };
}
