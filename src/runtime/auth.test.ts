import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoriaNovaError } from '../errors.ts';
import { freshToken, loadSecret, MIN_TOKEN_LENGTH, TOKEN_ENV } from './auth.ts';
import { startLocalWorkers } from './local.ts';
import { startWorker } from './worker.ts';

// Where a secret may come from (docs/runtime.md, "Security model"): a private file or the environment, never a
// command-line value; a worker off loopback needs one; every --local run makes its own.

const dir = mkdtempSync(join(tmpdir(), 'memorianova-auth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function tokenFile(name: string, text: string, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof MemoriaNovaError, `a clean error, not ${String(error)}`);
    return error.message;
  }
  assert.fail('expected a refusal');
}

describe('secret sources', () => {
  const token = 'a'.repeat(MIN_TOKEN_LENGTH) + '\n';

  it('a private token file is read (trimmed); one others can read, a missing one or a short secret is a one-line error', () => {
    assert.equal(loadSecret(tokenFile('ok', token, 0o600), {})!.toString(), 'a'.repeat(MIN_TOKEN_LENGTH));
    assert.match(
      refusal(() => loadSecret(tokenFile('open', token, 0o644), {})),
      /readable by others \(mode 644\); make it private with chmod 600/,
    );
    assert.match(
      refusal(() => loadSecret(join(dir, 'missing'), {})),
      /--token-file .*missing: cannot read it \(ENOENT\)/,
    );
    assert.match(
      refusal(() => loadSecret(tokenFile('short', 'abc', 0o600), {})),
      new RegExp(`at least ${MIN_TOKEN_LENGTH} characters`),
    );
  });

  it(`${TOKEN_ENV} is used without a file, the file wins over it, and an empty or unset variable means no secret`, () => {
    const env = { [TOKEN_ENV]: 'b'.repeat(MIN_TOKEN_LENGTH) };
    assert.equal(loadSecret(undefined, env)!.toString(), 'b'.repeat(MIN_TOKEN_LENGTH));
    assert.equal(loadSecret(tokenFile('wins', token, 0o600), env)!.toString(), 'a'.repeat(MIN_TOKEN_LENGTH));
    assert.equal(loadSecret(undefined, { [TOKEN_ENV]: '' }), undefined);
    assert.equal(loadSecret(undefined, {}), undefined);
    assert.match(
      refusal(() => loadSecret(undefined, { [TOKEN_ENV]: 'short' })),
      new RegExp(`${TOKEN_ENV}: the secret must be at least`),
    );
  });

  it('a worker off loopback without a secret refuses to start', async () => {
    await assert.rejects(
      startWorker({ host: '0.0.0.0', port: 0 }),
      (error: unknown) => error instanceof MemoriaNovaError && /0\.0\.0\.0 \(not a loopback address\) needs a secret/.test(error.message),
    );
  });

  it('fresh secrets differ, and two --local runs get different ones', async () => {
    assert.notEqual(freshToken(), freshToken());
    const first = await startLocalWorkers(1);
    const second = await startLocalWorkers(1);
    try {
      assert.ok(!first.secret.equals(second.secret), 'each run makes its own secret');
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});
