/**
 * What a step costs depending on what its processor did just before (npm run bench:idle-gap [-- --model resnet50
 * --rounds 7]): the steps of one device of the model split in rows over 4 devices (the calibration plan
 * "rows/tokens ×4", device 1), built as a worker builds them, timed in CPU ms (the sum over the steps, median over
 * rounds) run back to back, after 10 ms and 30 ms of idle time before each step, and back to back while another
 * process keeps the other hardware thread busy. Why calibration idles before each step and emulated workers take
 * turns on the processor (docs/runtime.md).
 */
import { spawn } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { loadModel } from '../src/model/load.ts';
import { formatTable } from '../src/cli/options.ts';
import { calibrationPlans } from '../src/runtime/overheads.ts';
import { compileProgram } from '../src/runtime/program.ts';
import { median, withInlineWeights } from '../src/runtime/reference.ts';
import { weightSlice } from '../src/runtime/regions.ts';
import { planSteps } from '../src/runtime/schedule.ts';
import { buildStepModel, syntheticFeeds, type HeldWeight } from '../src/runtime/submodel.ts';
import { writeModelBytes } from '../src/onnx/write.ts';
import { boxShape } from '../src/partition/box.ts';
import { SESSION_OPTIONS, timedRun } from '../src/runtime/tensors.ts';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const modelName = flag('model', 'resnet50');
const rounds = Number(flag('rounds', '7'));
const model = withInlineWeights(loadModel(modelName));
const { plan, label } = calibrationPlans(
  model,
  model.ops.map((op) => op.node.name),
).find((p) => p.label === 'rows/tokens ×4')!;
const program = compileProgram(model, plan, plan.cluster);
const worker = program.workers[1]!;
const weights = new Map<string, HeldWeight>(
  worker.weights.map((w) => [
    w.key,
    { dtype: w.dtype, shape: boxShape(w.box), bytes: weightSlice(program.weightSources.get(w.key)!, w.box) },
  ]),
);
const plans = planSteps(worker);
const steps: Array<{ session: ort.InferenceSession; feeds: Record<string, ort.Tensor> }> = [];
for (let s = 0; s < worker.steps.length; s++) {
  const built = buildStepModel(worker, worker.steps[s]!, plans[s]!.held, weights, plans[s]!.keep);
  const session = await ort.InferenceSession.create(writeModelBytes(built.graph), SESSION_OPTIONS);
  const feeds = syntheticFeeds(built, worker.dtypes);
  for (let w = 0; w < 3; w++) await session.run(feeds);
  steps.push({ session, feeds });
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function sumCpuMs(idleMs: number): Promise<number[]> {
  const totals: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let cpu = 0;
    for (const step of steps) {
      if (idleMs > 0) await sleep(idleMs);
      cpu += (await timedRun(step.session, step.feeds)).cpuMs;
    }
    totals.push(cpu);
  }
  return totals;
}

const conditions: Array<[string, () => Promise<number[]>]> = [
  ['back to back', () => sumCpuMs(0)],
  ['10 ms idle before each step', () => sumCpuMs(10)],
  ['30 ms idle before each step', () => sumCpuMs(30)],
  [
    'back to back, other hardware thread busy',
    async () => {
      const spinner = spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
      await sleep(200);
      try {
        return await sumCpuMs(0);
      } finally {
        spinner.kill('SIGKILL');
      }
    },
  ],
];
const rows: string[][] = [];
let base = 0;
for (const [name, measure] of conditions) {
  const totals = await measure();
  const ms = median(totals);
  if (base === 0) base = ms;
  rows.push([
    name,
    ms.toFixed(1),
    `${ms >= base ? '+' : ''}${((ms / base - 1) * 100).toFixed(0)}%`,
    totals.map((t) => t.toFixed(0)).join(' '),
  ]);
}
for (const step of steps) await step.session.release();
console.log(`${modelName}, ${label}, device 1: ${steps.length} steps; Σ CPU ms per round, median of ${rounds} rounds\n`);
console.log(formatTable(['condition', 'CPU ms', 'vs back to back', 'rounds'], rows));
