/**
 * Runtime correctness on every zoo CNN at full size (npm run check:runtime-zoo [-- --models a,b]): each model runs
 * under two plans on two local worker processes — every splittable operator split by rows, and split by channels
 * with every fusable operator fused — and its output is compared with one whole-model onnxruntime session.
 */
import { presetCluster } from '../src/cluster/presets.ts';
import { loadModel } from '../src/model/load.ts';
import { partitionContext } from '../src/partition/context.ts';
import { repairDecisions } from '../src/partition/slices.ts';
import { makePlan, proportionalPlan } from '../src/plan/build.ts';
import { runPlan } from '../src/runtime/run.ts';
import { ZOO } from '../src/zoo/index.ts';

const i = process.argv.indexOf('--models');
const models = i >= 0 ? process.argv[i + 1]!.split(',') : ZOO.filter((e) => e.family === 'cnn').map((e) => e.name);
const cluster = presetCluster('homo2')!;
let failed = 0;
for (const name of models) {
  const model = loadModel(name);
  const order = model.ops.map((op) => op.node.name);
  const rows = proportionalPlan(model, cluster, order, ['rows', 'channels']);
  const channels = proportionalPlan(model, cluster, order, ['channels', 'rows']);
  const fused = makePlan(
    model,
    cluster,
    order,
    repairDecisions(
      partitionContext(model, order),
      channels.ops.map((d) => ({ ...d, sync: false })),
    ),
    'fused-channels',
  );
  for (const plan of [rows, fused]) {
    const report = await runPlan(model, plan, { local: 2, runs: 1, warmup: 0, timeoutMs: 300_000 });
    const ok = report.maxAbsError <= 1e-4;
    if (!ok) failed++;
    console.log(
      `${name} ${plan.method}: max abs error ${report.maxAbsError.toExponential(2)} ${ok ? 'ok' : 'FAIL'} (${report.measuredMs.toFixed(0)} ms)`,
    );
  }
}
process.exit(failed === 0 ? 0 : 1);
