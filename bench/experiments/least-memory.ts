import { BASELINES } from '../../src/baselines/index.ts';
import { formatTable } from '../../src/cli/options.ts';
import type { Cluster } from '../../src/cluster/types.ts';
import type { ChartSpec } from '../../src/report/charts.ts';
import { leastSucceedingLimits, type LimitBracket } from './bisect.ts';
import { withUniformMemory } from './clusters.ts';
import { methodColor, mib, percent, SCHEMA, type ExperimentOutput } from './report.ts';
import { GENEFLOW, METHOD_NAMES, UNTILED_GENEFLOW, type CaseResult, type ExperimentRunner } from './runner.ts';

export interface LeastMemorySettings {
  /** Stop narrowing a method's bracket once its upper / lower end ≤ this ratio. */
  ratio: number;
  maxProbes: number;
}

interface ModelOutcome {
  model: string;
  /** Total weight bytes / devices: no plan fits a smaller uniform limit (every weight byte is on some device). */
  floorBytes: number;
  /** Weights + BTSearch's activation peak: what one device holding the whole model needs (activations as docs/memory.md). */
  singleDeviceBytes: number;
  brackets: LimitBracket[];
  probes: Array<{ limitBytes: number; results: CaseResult }>;
}

/**
 * Where the bisection of one model works: below `floorBytes` (weights / devices) no plan fits; the ceilings are
 * 1.25× and 4× what one device holding the whole model needs (weights + BTSearch's activation peak).
 */
export function memoryRange(
  weightBytes: number,
  activationPeakBytes: number,
  devices: number,
): { floorBytes: number; singleDeviceBytes: number; ceilings: number[] } {
  const singleDeviceBytes = weightBytes + activationPeakBytes;
  return { floorBytes: weightBytes / devices, singleDeviceBytes, ceilings: [singleDeviceBytes * 1.25, singleDeviceBytes * 4] };
}

/**
 * (b) For each model, the least uniform per-device memory limit at which each method still returns a feasible
 * plan: a shared geometric bisection (bisect.ts) between the weights-per-device floor and a multiple of the
 * single-device need, running every method at every probed limit.
 */
export async function leastMemoryExperiment(
  runner: ExperimentRunner,
  models: readonly string[],
  cluster: Cluster,
  settings: LeastMemorySettings,
): Promise<ExperimentOutput> {
  const outcomes: ModelOutcome[] = [];
  const names = [...METHOD_NAMES, UNTILED_GENEFLOW];
  for (const model of models) {
    const { order } = runner.prepared(model);
    const { floorBytes, singleDeviceBytes, ceilings } = memoryRange(order.weightBytes, order.peakBytes, cluster.devices.length);
    const probes: ModelOutcome['probes'] = [];
    const probe = async (limitBytes: number) => {
      const results = await runner.run(model, withUniformMemory(cluster, limitBytes), { untiledGeneflow: true });
      probes.push({ limitBytes, results });
      return new Set(results.methods.filter((m) => m.feasible).map((m) => m.name));
    };
    const search = await leastSucceedingLimits(names, probe, {
      floor: floorBytes,
      ceilings,
      ratio: settings.ratio,
      maxProbes: settings.maxProbes,
    });
    outcomes.push({ model, floorBytes, singleDeviceBytes, brackets: search.brackets, probes });
  }
  const rows = outcomes.map((o) => {
    const least = (name: string) => o.brackets.find((b) => b.method === name)?.leastSucceeded;
    const baselines = BASELINES.map((b) => least(b.name)).filter((x): x is number => x !== undefined);
    const ga = least(GENEFLOW);
    const bestBaseline = baselines.length > 0 ? Math.min(...baselines) : undefined;
    return [
      o.model,
      mib(o.floorBytes),
      mib(o.singleDeviceBytes),
      ...names.map((name) => {
        const bracket = o.brackets.find((b) => b.method === name)!;
        if (bracket.leastSucceeded === undefined) return 'none';
        return `${mib(bracket.leastSucceeded)}${bracket.leastSucceeded / bracket.greatestFailed > settings.ratio ? '~' : ''}`;
      }),
      ga !== undefined && bestBaseline !== undefined ? percent(1 - ga / bestBaseline) : 'n/a',
      ga !== undefined && least(UNTILED_GENEFLOW) !== undefined ? percent(1 - ga / least(UNTILED_GENEFLOW)!) : 'n/a',
      o.probes.length,
    ];
  });
  const table = formatTable(
    ['model', 'floor MiB', 'one device MiB', ...names, 'geneflow saving vs best baseline', 'tiles saving', 'probes'],
    rows,
  );
  const text =
    `${cluster.name}, every device given the same limit; least limit (MiB) at which each method's plan is feasible ` +
    `(bisection to within ×${settings.ratio}, at most ${settings.maxProbes} probes; ~ = not narrowed to that ratio within the probe budget; 'none' = infeasible at every probed limit up to 4× one device)\n${table}`;
  const values = outcomes.flatMap((o) =>
    o.brackets
      .filter((b) => b.leastSucceeded !== undefined)
      .map((b) => ({ model: o.model, method: b.method, leastMiB: Number(mib(b.leastSucceeded!)) })),
  );
  const chart = {
    $schema: SCHEMA,
    title: `Least uniform per-device memory with a feasible plan (${cluster.name})`,
    data: { values },
    facet: { column: { field: 'model', type: 'nominal', title: null, sort: [...models] } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: { step: 18 },
      height: 240,
      mark: 'bar',
      encoding: {
        x: { field: 'method', type: 'nominal', title: null, sort: [...names] },
        y: { field: 'leastMiB', type: 'quantitative', title: 'least per-device limit (MiB)' },
        color: methodColor(false),
      },
    },
  } as ChartSpec;
  return {
    id: 'b-least-memory',
    title: '(b) Least per-device memory at which each method finds a feasible plan',
    text,
    data: { cluster: cluster.name, ratio: settings.ratio, maxProbes: settings.maxProbes, models: outcomes },
    chart,
  };
}
