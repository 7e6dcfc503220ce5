import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { deviceMemoryBytes } from '../cluster/types.ts';
import { memoryOverStepsChart } from '../ordering/chart.ts';
import { latencyGain } from '../pipeline/methods.ts';
import type { PlanJob } from '../pipeline/plan-job.ts';
import { ganttChartSpec } from '../simulate/gantt.ts';
import type { LowerBound } from '../simulate/types.ts';
import { VERSION } from '../version.ts';
import { chartToSvg } from './charts.ts';
import { renderHtmlReport, type ReportSection } from './html.ts';
import { convergenceChart, deviceMemoryChart, latencyByMethodChart } from './plan-charts.ts';
import { decisionSummary, planStages } from './plan-summary.ts';

/** How the job was asked for: printed in the report so it can be repeated. */
export interface ReportInputs {
  commandLine?: string;
  seed?: number;
  timeLimitS?: number;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
/** Stages listed in the plan table; the plan file has them all. */
const MAX_STAGE_ROWS = 60;

/** The `plan` command's HTML report: the decision and why, the chosen plan, every method, the charts, the inputs. */
export async function renderPlanReport(job: PlanJob, inputs: ReportInputs = {}): Promise<string> {
  const { model, cluster, order, result } = job;
  const best = result.methods.find((m) => m.name === result.best)!;
  const geneflow = result.methods.find((m) => m.name === 'geneflow');
  const sections: ReportSection[] = [];
  const summary = decisionSummary(result, cluster);
  sections.push({
    title: 'Decision',
    ...(summary.warning === null ? {} : { warning: summary.warning }),
    paragraphs: summary.sentences,
  });

  const stages = planStages(best.plan, cluster);
  sections.push({
    title: `The chosen plan (${best.name})`,
    text:
      'A stage is a run of consecutive operators, in the order the devices run them, placed alike. "split" names the output ' +
      "dimension cut across the stage's devices (rows of a feature map, output channels, tokens, attention heads) and " +
      '"shares" each device\'s part of it; a stage without a split runs whole on its device. A synchronisation point ' +
      "materialises an operator's output as the devices' slices and sends through the router what the next operators " +
      'need; the other operators of a stage are fused: each device computes the region its own next slices read ' +
      '(overlapping halos recomputed) and nothing is sent.',
    table: {
      headers: ['stage', 'first operator', 'last operator', 'operators', 'devices', 'split', 'shares', 'sync points'],
      rows: stages
        .slice(0, MAX_STAGE_ROWS)
        .map((s, i) => [
          i + 1,
          s.first,
          s.last,
          s.operators,
          s.devices.join(', '),
          s.split ?? 'whole',
          s.shares.map((x) => `${(x * 100).toFixed(1)}%`).join(' / '),
          s.syncs,
        ]),
    },
    ...(stages.length > MAX_STAGE_ROWS
      ? { paragraphs: [`… and ${stages.length - MAX_STAGE_ROWS} more stages (plan.json lists every operator's decision).`] }
      : {}),
  });

  sections.push({
    title: 'Methods compared (simulated)',
    text: `Every method planned the same model, order and cluster within the same time budget; the highlighted row is the plan chosen (the fastest that fits every device's memory).`,
    table: {
      headers: ['method', 'latency ms', '× bound', 'feasible', 'max device peak MiB', 'search s', 'plans simulated', 'GenEFlow vs it'],
      rows: result.methods.map((m) => [
        m.name,
        m.latencyMs.toFixed(2),
        (m.latencyMs / result.lowerBoundMs).toFixed(2),
        m.feasible ? 'yes' : 'no',
        mib(Math.max(...m.devicePeakBytes)),
        (m.searchMs / 1000).toFixed(2),
        m.evaluations,
        geneflow === undefined || m.name === 'geneflow' ? '' : `${(latencyGain(geneflow.latencyMs, m.latencyMs) * 100).toFixed(1)}%`,
      ]),
      highlightRow: result.methods.indexOf(best),
    },
    definitions: [
      [
        'latency',
        "simulated time from the router holding the input until every piece of every output is back at the router: each device's compute (operator time × its share), every message's delay and bytes on the links, the router's forwarding",
      ],
      ['× bound', `latency / the lower bound (${result.lowerBoundMs.toFixed(2)} ms), a latency no plan can beat; 1.00 would be perfect`],
      ['feasible', "every device's peak memory (the weights of its slices + its live activations) within its limit"],
      ['max device peak', 'the largest of the devices’ peak memory under that plan (MiB = 2^20 bytes)'],
      ['plans simulated', 'how many candidate plans the method evaluated'],
      ['GenEFlow vs it', "1 − GenEFlow's latency / this method's latency: positive means GenEFlow's plan is that much faster"],
      [
        'single / layerwise / proportional / lp / deepthings / heft',
        'the baselines: the best single device; contiguous pipeline stages by dynamic programming (PipeEdge); per-layer splits in proportion to device speed (MoDNN, CoEdge); a linear program over per-layer shares (EdgeFlow); a fused tiled prefix (DeepThings); list scheduling of whole operators (HEFT)',
      ],
      ['random', 'random search over the same decisions with as many plans as GenEFlow simulated, no more time: the ablation'],
    ],
    svg: await chartToSvg(latencyByMethodChart(result.methods, result.lowerBoundMs, 'Simulated latency per method (dashed: lower bound)')),
  });

  sections.push({
    title: 'Lower bound',
    text: `No plan on this cluster can take less than ${result.lowerBoundMs.toFixed(2)} ms: the largest of computeMs, ioMs + criticalPathMs, outputMs and inputMs. Its parts:`,
    definitions: (Object.keys(BOUND_PARTS) as (keyof LowerBound)[]).map((part) => [
      `${part} ${result.lowerBound[part].toFixed(2)} ms`,
      BOUND_PARTS[part],
    ]),
  });

  if (best.simulation.timeline !== undefined) {
    sections.push({
      title: `Per-device timeline of the chosen plan (${best.name})`,
      text: 'What each device and the router do over time: compute, send, receive, forward.',
      svg: await chartToSvg(ganttChartSpec(best.simulation, best.name)),
    });
  }
  sections.push({
    title: `Per-device memory of the chosen plan (${best.name})`,
    text: 'Peak memory per device (bar), labelled with its limit; the limit is drawn as a tick when a peak comes near it.',
    svg: await chartToSvg(deviceMemoryChart(best, cluster, 'Peak memory (weights of its slices + live activations) vs limit')),
  });
  if (geneflow !== undefined && result.history.length > 0) {
    sections.push({
      title: 'GenEFlow convergence',
      text:
        `${result.geneflow.generations} generations, ${result.geneflow.evaluations} plans simulated, ${result.geneflow.restarts} restarts, stopped by ${result.geneflow.stopReason}. ` +
        'Fitness is the simulated latency of a feasible plan; generations without any feasible plan are left out.',
      svg: await chartToSvg(convergenceChart(result.history, 'Fitness per generation')),
    });
  }
  sections.push({
    title: 'Operator order (BTSearch)',
    text:
      `Peak live activation memory ${mib(order.peakBytes)} MiB, ${order.optimal ? 'proven optimal: no order of these operators needs less' : `not proven (every order needs at least ${mib(order.lowerBoundBytes)} MiB)`}, ` +
      `found in ${(order.timeMs / 1000).toFixed(2)} s over ${order.statesVisited} search states. The other orders: ` +
      order.baselines.map((b) => `${b.method} ${mib(b.peakBytes)} MiB`).join(', ') +
      '. Orders with the same memory at every step are drawn as one line.',
    svg: await chartToSvg(memoryOverStepsChart(order)),
  });
  sections.push({
    title: 'Cluster',
    table: {
      headers: ['device', 'GFLOP/s', 'memory MiB', 'up Mbit/s', 'down Mbit/s', 'delay ms per hop'],
      rows: cluster.devices.map((d) => [d.name, d.gflops, mib(deviceMemoryBytes(d)), d.uplinkMbps, d.downlinkMbps, d.latencyMs]),
    },
    text: `Router '${cluster.router.name}': ${cluster.router.broadcast ? 'uploads a piece once and delivers it to every device that needs it' : 'point-to-point only'}, ${cluster.router.latencyMs} ms per forwarded message${cluster.router.forwardingMbps === undefined ? '' : `, forwarding at ${cluster.router.forwardingMbps} Mbit/s`}.`,
  });
  const cpu = cpus();
  sections.push({
    title: 'Inputs',
    definitions: [
      ['command', inputs.commandLine ?? '(library call)'],
      ['model', `${model.name}: ${model.ops.length} operators`],
      ['cluster', `${cluster.name}: ${cluster.devices.length} devices`],
      ['seed', inputs.seed === undefined ? '(default)' : String(inputs.seed)],
      ['time limit', inputs.timeLimitS === undefined ? '(default)' : `${inputs.timeLimitS} s for the whole job`],
      ['version', `memorianova ${VERSION}`],
      ['date', new Date().toISOString()],
      [
        'machine',
        `${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version} on ${process.platform}/${process.arch}`,
      ],
    ],
  });
  return renderHtmlReport(
    `MemoriaNova plan: ${model.name} on ${cluster.name}`,
    `${model.ops.length} operators, ${cluster.devices.length} devices`,
    sections,
  );
}

/** What each part of the lower bound means (the simulator's definitions, stated for a reader without the docs). */
export const BOUND_PARTS: Record<keyof LowerBound, string> = {
  computeMs:
    "all the work over the devices' pooled best rates, each device joining only once the input can first reach it (after the router's and its own link delay): the devices together cannot finish the work sooner",
  criticalPathMs:
    'the longest chain of dependent operators, each that must run whole taking its fastest time and each splittable one its FLOPs over the pooled rate',
  ioMs: 'the delays every request pays: the input forwarded by the router and downloaded by a device before any work, the output uploaded after it',
  outputMs:
    "ioMs plus the graph outputs' bytes over the uplinks' capacity (their sum on a switched network, the fastest one on a shared channel): every output byte must reach the router",
  inputMs:
    "the router's delay, the bytes of the graph inputs some operator reads whole over the downlinks' capacity (their sum on a switched network, the fastest one on a shared channel, which the outputs' uploads share too) and one link delay: every such input byte must reach a device",
};

export async function writePlanReport(path: string, job: PlanJob, inputs: ReportInputs = {}): Promise<void> {
  writeFileSync(path, await renderPlanReport(job, inputs));
}
