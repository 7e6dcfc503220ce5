// Simulator speed: CPU ms per simulation of a whole plan (what GenEFlow pays per fitness evaluation).
// Usage: node --import tsx bench/simulate-speed.ts [model] [cluster] [runs]
import { loadCluster } from '../src/cluster/load.ts';
import { loadModel } from '../src/model/load.ts';
import { proportionalPlan, singleDevicePlan } from '../src/plan/build.ts';
import { createSimulator } from '../src/simulate/simulate.ts';

const [modelName = 'resnet50', clusterName = 'hetero4', runsText = '200'] = process.argv.slice(2);
const runs = Number(runsText);
const model = loadModel(modelName);
const cluster = loadCluster(clusterName);
const order = model.ops.map((op) => op.node.name);
const simulator = createSimulator(model, cluster, order);
for (const plan of [singleDevicePlan(model, cluster, order), proportionalPlan(model, cluster, order)]) {
  for (let i = 0; i < 20; i++) simulator.run(plan.ops, { timeline: false, trusted: true });
  const start = process.cpuUsage();
  const wall = performance.now();
  for (let i = 0; i < runs; i++) simulator.run(plan.ops, { timeline: false, trusted: true });
  const cpu = process.cpuUsage(start);
  const cpuMs = (cpu.user + cpu.system) / 1000 / runs;
  console.log(
    `${modelName} (${model.ops.length} ops) on ${clusterName}, plan ${plan.method}: ${cpuMs.toFixed(3)} ms CPU per run (${((performance.now() - wall) / runs).toFixed(3)} ms wall)`,
  );
}
