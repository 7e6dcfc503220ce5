import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCluster } from '../../cluster/load.ts';
import { cli, scratchDir } from '../testing.ts';

const dir = scratchDir('memorianova-cli-cluster-');

test('cluster show prints a preset as a YAML file that --cluster reads back unchanged; a bad name is one line', () => {
  const shown = cli('cluster', 'show', 'hetero4');
  assert.equal(shown.status, 0, shown.stderr);
  const file = join(dir, 'mine.yaml');
  writeFileSync(file, shown.stdout);
  assert.deepEqual(loadCluster(file), loadCluster('hetero4'));
  const bad = cli('cluster', 'show', 'hetero5');
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /^error: cluster 'hetero5' is neither a preset \(homo2, .*\) nor an existing file\n$/);
});
