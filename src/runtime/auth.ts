import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { fail } from '../errors.ts';

/**
 * The shared secret between a coordinator and its workers (docs/runtime.md, "Security model") and the
 * challenge–response that proves both ends know it. The secret never travels: the worker hands out a one-time
 * challenge over plain HTTP (`GET /challenge`), the coordinator's WebSocket upgrade request carries
 * HMAC-SHA256(secret, challenge, its own nonce), checked before the upgrade completes, and the worker's hello
 * carries HMAC-SHA256(secret, the coordinator's nonce, challenge) back.
 */

/** The environment variable a secret can come from (`--token-file` wins when both are given). */
export const TOKEN_ENV = 'MEMORIANOVA_TOKEN';
/** The path a worker serves challenges on, and the upgrade request header carrying the coordinator's proof. */
export const CHALLENGE_PATH = '/challenge';
export const AUTH_HEADER = 'x-memorianova-auth';
/** Shorter secrets are refused: they could be guessed. */
export const MIN_TOKEN_LENGTH = 16;

const NONCE_BYTES = 32;
const NONCE = /^[0-9a-f]{64}$/;

/** A secret as bytes (the HMAC key). */
export type Secret = Buffer;

export function secretFrom(token: string, where: string): Secret {
  const trimmed = token.trim();
  if (trimmed.length < MIN_TOKEN_LENGTH) fail(`${where}: the secret must be at least ${MIN_TOKEN_LENGTH} characters`, 'usage');
  return Buffer.from(trimmed, 'utf8');
}

/**
 * The secret from `--token-file` (a file only its owner may read) or else from MEMORIANOVA_TOKEN; undefined when
 * neither is given. Secrets are never accepted as command-line values: those are visible to every local user.
 */
export function loadSecret(tokenFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Secret | undefined {
  if (tokenFile !== undefined) {
    let text: string;
    let mode: number;
    try {
      mode = statSync(tokenFile).mode;
      text = readFileSync(tokenFile, 'utf8');
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : String(error);
      fail(`--token-file ${tokenFile}: cannot read it (${code})`, 'usage');
    }
    if (process.platform !== 'win32' && (mode & 0o077) !== 0)
      fail(`--token-file ${tokenFile}: readable by others (mode ${(mode & 0o777).toString(8)}); make it private with chmod 600`, 'usage');
    return secretFrom(text, `--token-file ${tokenFile}`);
  }
  const value = env[TOKEN_ENV];
  return value === undefined || value === '' ? undefined : secretFrom(value, TOKEN_ENV);
}

/** A fresh random secret (what `run --local` hands its workers). */
export function freshToken(): string {
  return randomBytes(NONCE_BYTES).toString('hex');
}

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('hex');
}

export function isNonce(value: string): boolean {
  return NONCE.test(value);
}

function mac(secret: Secret, role: string, first: string, second: string): string {
  return createHmac('sha256', secret).update(`memorianova/1 ${role} ${first} ${second}`).digest('hex');
}

/** What the coordinator sends in AUTH_HEADER: `<challenge>.<nonce>.<mac>`. */
export function coordinatorProof(secret: Secret, challenge: string, nonce: string): string {
  return `${challenge}.${nonce}.${mac(secret, 'coordinator', challenge, nonce)}`;
}

/** What the worker puts in its hello: proof that it knows the secret too. */
export function workerProof(secret: Secret, nonce: string, challenge: string): string {
  return mac(secret, 'worker', nonce, challenge);
}

/** Constant-time comparison of two hex MACs. */
export function sameMac(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Parses AUTH_HEADER; null when it is not three hex fields. */
export function parseProof(header: string): { challenge: string; nonce: string; mac: string } | null {
  const parts = header.split('.');
  if (parts.length !== 3 || !parts.every(isNonce)) return null;
  return { challenge: parts[0]!, nonce: parts[1]!, mac: parts[2]! };
}

export function verifyCoordinator(secret: Secret, challenge: string, nonce: string, given: string): boolean {
  return sameMac(mac(secret, 'coordinator', challenge, nonce), given);
}

/** Addresses only this host can reach: a worker may listen on them without a secret. */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}
