import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cli } from './testing.ts';
import { Progress } from './progress.ts';

function fake(tty: boolean) {
  let clock = 0;
  const out: string[] = [];
  const progress = new Progress({ stream: { isTTY: tty, write: (t: string) => out.push(t) }, now: () => clock, intervalMs: 5000 });
  return { progress, out, tick: (ms: number) => (clock += ms) };
}

test('off a terminal: a line per phase start and end, at most one update line per interval, each stamped with the seconds since start', () => {
  const { progress, out, tick } = fake(false);
  progress.phase('GenEFlow', 20_000);
  for (let t = 0; t < 12_000; t += 1000) {
    tick(1000);
    progress.update(t + 1000, `at ${t + 1000}`);
  }
  tick(500);
  progress.end('201.42 ms');
  // Updates at 1 s, 2 s, ... 12 s; lines only 5 s after the last one (5 s and 10 s).
  assert.deepEqual(out, [
    '[0.0 s] GenEFlow …\n',
    '[5.0 s] GenEFlow: 25% at 5000\n',
    '[10.0 s] GenEFlow: 50% at 10000\n',
    '[12.5 s] GenEFlow: 201.42 ms\n',
  ]);
});

test('on a terminal: one bar redrawn in place, cleared before the summary line', () => {
  const { progress, out, tick } = fake(true);
  progress.phase('BTSearch', 10);
  tick(200);
  progress.update(5, 'half');
  tick(10);
  progress.update(6, 'too soon to redraw');
  progress.end('done');
  assert.equal(out.length, 4, `writes: ${JSON.stringify(out)}`);
  assert.ok(out[0]!.startsWith('\r\x1b[KBTSearch |░'), `first bar: ${JSON.stringify(out[0])}`);
  assert.equal(out[1], `\r\x1b[KBTSearch |${'█'.repeat(15)}${'░'.repeat(15)}| 50%  half`);
  assert.equal(out[2], '\r\x1b[K');
  assert.equal(out[3], 'BTSearch: done\n');
  assert.ok(!out.join('').includes('too soon'), 'updates within 100 ms are not drawn');
});

test('plan through a pipe: every phase on stderr as plain lines, stdout only the JSON object', () => {
  const result = cli(
    'plan',
    'squeezenet1.0',
    '--cluster',
    'homo2',
    '--time-limit',
    '3',
    '--methods',
    'single,heft,geneflow',
    '--json',
    '--out',
    `/tmp/mn-progress-${process.pid}`,
  );
  assert.equal(result.status, 0, result.stderr);
  assert.doesNotThrow(() => JSON.parse(result.stdout), 'stdout is one JSON object');
  const lines = result.stderr.trimEnd().split('\n');
  for (const phase of ['BTSearch: peak', 'baseline single: ', 'baseline heft: ', 'GenEFlow: '])
    assert.ok(
      lines.some((l) => l.includes(phase)),
      `stderr has '${phase}': ${result.stderr}`,
    );
  assert.ok(
    lines.every((l) => /^\[\d+\.\d s\] /.test(l)),
    `every line is a plain stamped line: ${result.stderr}`,
  );
  assert.ok(!result.stderr.includes('\r'), 'no bar redraws off a terminal');
});

test('plan --methods: unknown names are a one-line usage error listing the valid ones', () => {
  for (const methods of ['geneflow,foo', ',']) {
    const result = cli('plan', 'squeezenet1.0', '--cluster', 'homo2', '--methods', methods);
    assert.equal(result.status, 1, `${methods}: ${result.stderr}`);
    assert.match(
      result.stderr,
      /^error: --methods: .*(unknown method 'foo'|at least one).*single, layerwise, proportional, lp, deepthings, heft, geneflow, random/,
    );
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
  }
  assert.match(cli('plan', '--help').stdout, /geneflow, random/);
});
