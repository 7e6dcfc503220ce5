import { parentPort, workerData } from 'node:worker_threads';
import type { Cluster } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
import type { OpDecision } from '../partition/types.ts';
import { createSimulator } from '../simulate/simulate.ts';
import { Evaluator } from './fitness.ts';

/** One evaluation worker of EvaluationPool: builds its own simulator, then answers batches of plans. */
const { model, cluster, order } = workerData as { model: Model; cluster: Cluster; order: string[] };
const evaluator = new Evaluator(createSimulator(model, cluster, order));
parentPort!.on('message', ({ id, batch }: { id: number; batch: OpDecision[][] }) => {
  parentPort!.postMessage({ id, evaluated: batch.map((decisions) => evaluator.evaluate(decisions)) });
});
parentPort!.postMessage('ready');
