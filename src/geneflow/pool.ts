import { Worker } from 'node:worker_threads';
import type { Cluster } from '../cluster/types.ts';
import type { Model } from '../ir/graph.ts';
import type { OpDecision } from '../partition/types.ts';
import type { Evaluated, Evaluator } from './fitness.ts';

interface Reply {
  id: number;
  evaluated: Evaluated[];
}

/**
 * Worker threads that each hold a simulator for the same (model, cluster, order) and evaluate batches of plans.
 * Cached plans are answered in this thread; the rest are dealt round-robin in contiguous chunks.
 */
export class EvaluationPool {
  private nextId = 0;
  private readonly waiting = new Map<number, (evaluated: Evaluated[]) => void>();

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.on('message', (reply: Reply) => {
        this.waiting.get(reply.id)!(reply.evaluated);
        this.waiting.delete(reply.id);
      });
    }
  }

  static async start(model: Model, cluster: Cluster, order: readonly string[], count: number): Promise<EvaluationPool> {
    // Run from source, workers load TypeScript through tsx as the process does; the built package runs its JS.
    const entry = new URL(import.meta.url.endsWith('.ts') ? './worker-entry.mjs' : './worker.js', import.meta.url);
    const workers = Array.from({ length: count }, () => new Worker(entry, { workerData: { model, cluster, order: [...order] } }));
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('error', reject);
          }),
      ),
    );
    return new EvaluationPool(workers);
  }

  private send(worker: Worker, batch: OpDecision[][]): Promise<Evaluated[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, batch });
    });
  }

  async evaluateAll(evaluator: Evaluator, chromosomes: readonly OpDecision[][]): Promise<Evaluated[]> {
    const out: Array<Evaluated | undefined> = chromosomes.map((c) => evaluator.known(evaluator.keyOf(c)));
    const todo = out.flatMap((e, i) => (e === undefined ? [i] : []));
    const chunk = Math.ceil(todo.length / this.workers.length);
    const jobs = this.workers.map(async (worker, w) => {
      const mine = todo.slice(w * chunk, (w + 1) * chunk);
      if (mine.length === 0) return;
      const evaluated = await this.send(
        worker,
        mine.map((i) => chromosomes[i]!),
      );
      mine.forEach((i, k) => {
        evaluator.remember(evaluated[k]!);
        out[i] = evaluated[k]!;
      });
    });
    await Promise.all(jobs);
    return out as Evaluated[];
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
