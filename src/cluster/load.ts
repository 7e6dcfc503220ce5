import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fail } from '../errors.ts';
import { PRESET_NAMES, presetCluster } from './presets.ts';
import { clusterSchema, describeIssue, describeProblems, issueLines, profileSchema } from './schema.ts';
import type { Cluster, DeviceProfile } from './types.ts';

/** A preset name (`homo4`, `hetero4`, ...) or a YAML/JSON cluster file. */
export function loadCluster(presetOrPath: string): Cluster {
  const preset = presetCluster(presetOrPath);
  if (preset !== undefined) return preset;
  if (!existsSync(presetOrPath)) {
    fail(`cluster '${presetOrPath}' is neither a preset (${PRESET_NAMES.join(', ')}) nor an existing file`, 'invalid-cluster');
  }
  let text: string;
  try {
    text = readFileSync(presetOrPath, 'utf8');
  } catch (error) {
    fail(`cluster file ${presetOrPath}: cannot be read (${(error as Error).message.split('\n')[0]})`, 'invalid-cluster');
  }
  return parseCluster(text, presetOrPath, dirname(resolve(presetOrPath)));
}

/**
 * Parses and validates a cluster description (YAML, of which JSON is a subset). `source` names it in errors;
 * profile paths are resolved against `baseDir`.
 */
export function parseCluster(text: string, source: string, baseDir = process.cwd()): Cluster {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    fail(`cluster file ${source}: not valid YAML/JSON (${(error as Error).message.split('\n')[0]})`, 'invalid-cluster');
  }
  return validateCluster(raw, `cluster file ${source}`, baseDir);
}

/** Checks an already parsed cluster object (a plan's inlined cluster, a parsed file). `where` prefixes errors. */
export function validateCluster(raw: unknown, where: string, baseDir = process.cwd()): Cluster {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    fail(`${where}: must be a mapping with 'name', 'devices' and optionally 'router'`, 'invalid-cluster');
  const parsed = clusterSchema.safeParse(raw);
  const duplicates = duplicateNames((raw as { devices?: unknown }).devices);
  if (!parsed.success || duplicates.length > 0) {
    const problems = [...(parsed.success ? [] : issueLines(parsed.error)), ...duplicates];
    fail(`${where}: ${describeProblems(problems)}`, 'invalid-cluster');
  }
  const devices = parsed.data.devices.map((device, i) => {
    const { profile, efficiency, ...rest } = device;
    return {
      ...rest,
      ...(efficiency === undefined ? {} : { efficiency }),
      ...(profile === undefined
        ? {}
        : {
            profile:
              typeof profile === 'string'
                ? loadProfile(resolve(baseDir, profile), `${where}: devices[${i}].profile`)
                : (profile as DeviceProfile),
          }),
    };
  });
  const { forwardingMbps, ...router } = parsed.data.router;
  return {
    name: parsed.data.name,
    devices,
    medium: parsed.data.medium,
    router: forwardingMbps === undefined ? router : { ...router, forwardingMbps },
  };
}

/** `devices[i].name: 'x' is used by two devices` for every device whose name an earlier one already has. */
function duplicateNames(devices: unknown): string[] {
  if (!Array.isArray(devices)) return [];
  const seen = new Set<string>();
  const problems: string[] = [];
  devices.forEach((device: unknown, i) => {
    const name = device !== null && typeof device === 'object' ? (device as { name?: unknown }).name : undefined;
    if (typeof name !== 'string') return;
    if (seen.has(name)) problems.push(`devices[${i}].name: '${name}' is used by two devices`);
    seen.add(name);
  });
  return problems;
}

export function loadProfile(path: string, where = `profile ${path}`): DeviceProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    fail(`${where}: cannot read profile '${path}' (${(error as Error).message.split('\n')[0]})`, 'invalid-cluster');
  }
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) fail(`${where}: ${describeIssue(parsed.error)}`, 'invalid-cluster');
  return parsed.data as DeviceProfile;
}
