import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Graph, Model } from '../ir/graph.ts';
import { writeModelBytes } from '../onnx/write.ts';

/** Reads a model and prints the shapes ONNX's own (C++) shape inference gives every intermediate and output tensor. */
const INFER_SCRIPT = `
import json, sys, onnx, onnx.shape_inference
model = onnx.shape_inference.infer_shapes(onnx.load(sys.argv[1]), strict_mode=True)
shapes = {}
for info in list(model.graph.value_info) + list(model.graph.output):
    dims = info.type.tensor_type.shape.dim
    shapes[info.name] = [d.dim_value if d.HasField('dim_value') else (d.dim_param or '?') for d in dims]
print(json.dumps(shapes))
`;

/** A Python interpreter that has the onnx package, or undefined. */
export function findPythonOnnx(): string | undefined {
  for (const python of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(python, ['-c', 'import onnx.shape_inference'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return undefined;
}

/**
 * The graph with every weight whose bytes are not inline turned into a graph input of the same type and shape:
 * shape inference needs only their shapes, so the file stays small.
 */
function shapeSkeleton(graph: Graph): Graph {
  const heavy = [...graph.initializers.values()].filter((w) => w.data.kind !== 'inline');
  return {
    ...graph,
    inputs: [...graph.inputs, ...heavy.map((w) => ({ name: w.name, dtype: w.dtype, shape: [...w.shape] }))],
    initializers: new Map([...graph.initializers].filter(([, w]) => w.data.kind === 'inline')),
  };
}

export interface CrossCheck {
  compared: number;
  differences: { tensor: string; ours: number[]; onnx: (number | string)[] }[];
}

/** Compares our activation shapes with ONNX's shape inference on the same graph (with static input shapes). */
export function crossCheckShapes(graph: Graph, model: Model, python: string): CrossCheck {
  const dir = mkdtempSync(join(tmpdir(), 'memorianova-crosscheck-'));
  try {
    const path = join(dir, 'model.onnx');
    writeFileSync(path, writeModelBytes(shapeSkeleton(graph)));
    const run = spawnSync(python, ['-c', INFER_SCRIPT, path], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (run.status !== 0) throw new Error(`onnx shape inference failed: ${run.stderr.trim().split('\n').at(-1)}`);
    const reference = JSON.parse(run.stdout) as Record<string, (number | string)[]>;
    const result: CrossCheck = { compared: 0, differences: [] };
    for (const [tensor, shape] of Object.entries(reference)) {
      const ours = model.tensors.get(tensor);
      if (ours === undefined) continue;
      result.compared++;
      if (ours.shape.join(',') !== shape.join(',')) result.differences.push({ tensor, ours: ours.shape, onnx: shape });
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
