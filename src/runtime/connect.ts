import { get, type IncomingMessage } from 'node:http';
import { fail } from '../errors.ts';
import { CHALLENGE_PATH, isNonce, sameMac, TOKEN_ENV, workerProof, type Secret } from './auth.ts';

/** A short HTTP answer's body (at most 1 KiB of it, one line), e.g. why a worker refused a connection. */
export function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 1024) res.destroy();
    });
    const done = () => resolve(body.slice(0, 1024).replace(/\s+/g, ' ').trim());
    res.on('end', done);
    res.on('close', done);
    res.on('error', done);
  });
}

/**
 * A worker's one-time challenge (docs/runtime.md, "Security model"), fetched before the WebSocket opens; fails with
 * a one-line reason (no secret on the worker, refused, unreachable, silent for `timeoutMs`).
 */
export function fetchChallenge(address: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const refuse = (why: string) => {
      try {
        fail(why, 'runtime-failure');
      } catch (error) {
        reject(error);
      }
    };
    const req = get(`http://${address}${CHALLENGE_PATH}`, { timeout: timeoutMs }, (res) => {
      void readBody(res).then((body) => {
        if (res.statusCode === 200 && isNonce(body)) resolve(body);
        else if (res.statusCode === 404)
          refuse(`it uses no secret, but this coordinator has one (${TOKEN_ENV} or --token-file): start it with the same secret`);
        else refuse(`no challenge (HTTP ${res.statusCode}${body === '' ? '' : `: ${body}`})`);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => refuse(`connection failed (${error.message})`));
  });
}

/**
 * Whether a worker's hello proves it knows the secret: its proof is the HMAC of this connection's nonce and
 * challenge. Without a secret there is nothing to prove.
 */
export function helloProvesSecret(secret: Secret | undefined, nonce: string, challenge: string | null, proof: string | null): boolean {
  return secret === undefined || (proof !== null && challenge !== null && sameMac(workerProof(secret, nonce, challenge), proof));
}
