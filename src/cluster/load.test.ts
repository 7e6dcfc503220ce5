import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemoriaNovaError } from '../errors.ts';
import { loadCluster, parseCluster } from './load.ts';
import { PRESET_NAMES } from './presets.ts';
import { clusterYaml } from './yaml.ts';

const device = (extra = '') =>
  `  - name: pi1\n    gflops: 10\n    memoryMB: 512\n    uplinkMbps: 100\n    downlinkMbps: 100\n    latencyMs: 10\n${extra}`;

function errorOf(text: string, source = 'x.yaml'): string {
  try {
    parseCluster(text, source);
  } catch (error) {
    assert.ok(error instanceof MemoriaNovaError);
    assert.ok(!error.message.includes('\n'), 'one line');
    return error.message;
  }
  assert.fail('expected an error');
}

test('presets: the named clusters load, with the documented device mix, links and media', () => {
  assert.deepEqual(PRESET_NAMES, ['homo2', 'homo4', 'homo6', 'homo8', 'hetero4', 'hetero8', 'hetero4-gbe', 'emu4']);
  for (const name of PRESET_NAMES) assert.equal(loadCluster(name).name, name);
  assert.deepEqual(
    loadCluster('homo6').devices.map((d) => d.gflops),
    [24, 24, 24, 24, 24, 24],
  );
  assert.deepEqual(
    loadCluster('hetero4').devices.map((d) => [d.gflops, d.uplinkMbps, d.latencyMs]),
    [
      [24, 91, 1],
      [24, 91, 1],
      [50, 91, 1],
      [185, 91, 1],
    ],
  );
  assert.equal(loadCluster('homo4').medium, 'shared');
  assert.equal(loadCluster('hetero4-gbe').medium, 'switched');
  assert.deepEqual(
    loadCluster('hetero4-gbe').devices.map((d) => [d.gflops, d.uplinkMbps, d.latencyMs]),
    loadCluster('hetero4').devices.map((d) => [d.gflops, 941, 0.2]),
  );
  assert.deepEqual(
    loadCluster('emu4').devices.map((d) => d.gflops),
    [6, 6, 6, 6],
  );
  assert.deepEqual(
    loadCluster('hetero4').devices.map((d) => d.name),
    ['pi1', 'pi2', 'jetson1', 'laptop1'],
  );
  assert.equal(loadCluster('hetero8').devices.length, 8);
  assert.ok(loadCluster('homo4').router.broadcast);
});

test('a YAML cluster file parses, router defaults filled in', () => {
  const cluster = parseCluster(`name: lab\ndevices:\n${device()}`, 'lab.yaml');
  assert.equal(cluster.devices[0]!.memoryMB, 512);
  assert.deepEqual(cluster.router, { name: 'router', latencyMs: 0, broadcast: true });
  assert.equal(cluster.medium, 'switched');
  assert.equal(parseCluster(`name: lab\nmedium: shared\ndevices:\n${device()}`, 'lab.yaml').medium, 'shared');
});

test('JSON is accepted too, with efficiency and an inline profile', () => {
  const cluster = parseCluster(
    JSON.stringify({
      name: 'j',
      devices: [
        {
          name: 'a',
          gflops: 5,
          efficiency: { Conv: 0.5 },
          profile: { format: 'memorianova-profile', version: 1, opTypes: { Conv: 3 } },
          memoryMB: 64,
          uplinkMbps: 10,
          downlinkMbps: 20,
          latencyMs: 1,
        },
      ],
      router: { forwardingMbps: 100, latencyMs: 0.5, broadcast: false },
    }),
    'j.json',
  );
  assert.equal(cluster.devices[0]!.efficiency!.Conv, 0.5);
  assert.equal(cluster.devices[0]!.profile!.opTypes!.Conv, 3);
  assert.equal(cluster.router.forwardingMbps, 100);
});

test('a profile path is read relative to the cluster file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mn-cluster-'));
  writeFileSync(
    join(dir, 'pi.json'),
    JSON.stringify({ format: 'memorianova-profile', version: 1, model: { name: 'm', fingerprint: 'abc' }, ops: { conv1: 2.5 } }),
  );
  writeFileSync(join(dir, 'c.yaml'), `name: p\ndevices:\n${device('    profile: pi.json\n')}`);
  assert.equal(loadCluster(join(dir, 'c.yaml')).devices[0]!.profile!.ops!.conv1, 2.5);
  writeFileSync(join(dir, 'd.yaml'), `name: p\ndevices:\n${device('    profile: missing.json\n')}`);
  assert.match(errorOfLoad(join(dir, 'd.yaml')), /devices\[0\]\.profile: cannot read profile/);
});

function errorOfLoad(path: string): string {
  try {
    loadCluster(path);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected an error');
}

test('bad cluster files: one-line errors naming file and field', () => {
  assert.equal(
    errorOf(`name: c\ndevices:\n${device()}${device().replace('pi1', 'pi2').replace('uplinkMbps: 100', 'uplinkMbps: -5')}`),
    'cluster file x.yaml: devices[1].uplinkMbps: must be >= 0.001',
  );
  assert.equal(
    errorOf(`name: c\ndevices:\n${device().replace('memoryMB: 512', 'memoryMB: 0')}`),
    'cluster file x.yaml: devices[0].memoryMB: must be >= 2^-10 (1 KiB, in MiB)',
  );
  assert.equal(errorOf('name: c\ndevices: []\n'), 'cluster file x.yaml: devices: must list at least one device');
  assert.equal(errorOf(`name: c\ndevices:\n${device('    colour: red\n')}`), "cluster file x.yaml: devices[0]: unknown field 'colour'");
  assert.equal(errorOf(`name: c\nextra: 1\ndevices:\n${device()}`), "cluster file x.yaml: unknown field 'extra'");
  assert.equal(
    errorOf(`name: c\ndevices:\n${device()}router:\n  broadcast: maybe\n`),
    'cluster file x.yaml: router.broadcast: must be true or false',
  );
  assert.equal(errorOf(`name: c\ndevices:\n${device()}${device()}`), "cluster file x.yaml: devices[1].name: 'pi1' is used by two devices");
  assert.equal(
    errorOf(`name: c\ndevices:\n${device().replace('gflops: 10', 'gflops: fast')}`),
    'cluster file x.yaml: devices[0].gflops: must be a number',
  );
  // Values outside their physical range (docs/cluster.md, "Ranges") are refused, not simulated as NaN or Infinity.
  assert.equal(
    errorOf(`name: c\ndevices:\n${device().replace('gflops: 10', 'gflops: 1e308')}`),
    'cluster file x.yaml: devices[0].gflops: must be <= 1000000',
  );
  assert.equal(
    errorOf(`name: c\ndevices:\n${device().replace('latencyMs: 10', 'latencyMs: 1e6')}`),
    'cluster file x.yaml: devices[0].latencyMs: must be <= 100000',
  );
  assert.equal(
    errorOf(`name: c\ndevices:\n${device().replace('memoryMB: 512', 'memoryMB: 1e300')}`),
    'cluster file x.yaml: devices[0].memoryMB: must be <= 2^40 (1 EiB, in MiB)',
  );
  assert.equal(
    errorOf(`name: c\ndevices:\n${device()}router:\n  forwardingMbps: 1e-9\n`),
    'cluster file x.yaml: router.forwardingMbps: must be >= 0.001',
  );
  assert.equal(errorOf(`name: c\nmedium: radio\ndevices:\n${device()}`), "cluster file x.yaml: medium: must be 'switched' or 'shared'");
  assert.match(errorOf('name: c\ndevices: [\n  - : :'), /^cluster file x.yaml: not valid YAML\/JSON \(/);
  assert.match(errorOf('- just\n- a list\n'), /^cluster file x.yaml: must be a mapping/);
  assert.match(errorOfLoad('no-such-cluster'), /neither a preset \(homo2, .*\) nor an existing file/);
});

test('a bad cluster file reports every problem at once, each naming its field, on one line', () => {
  const text = `name: c\nmedium: radio\ndevices:\n${device().replace('gflops: 10', 'gflops: fast')}${device().replace('memoryMB: 512', 'memoryMB: 0')}`;
  assert.equal(
    errorOf(text),
    "cluster file x.yaml: 4 problems: devices[0].gflops: must be a number; devices[1].memoryMB: must be >= 2^-10 (1 KiB, in MiB); medium: must be 'switched' or 'shared'; devices[1].name: 'pi1' is used by two devices",
  );
});

test('clusterYaml: every preset printed as a commented file reads back as the same cluster', () => {
  for (const name of PRESET_NAMES) {
    const text = clusterYaml(loadCluster(name));
    assert.ok(text.startsWith('# MemoriaNova cluster file'), `${name}: starts with its explanation`);
    assert.deepEqual(parseCluster(text, `${name}.yaml`), loadCluster(name), name);
  }
});
