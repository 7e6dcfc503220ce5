// Cross-checks our shape inference on every built-in model against ONNX's own (python3-onnx) shape inference.
import { analyzeGraph } from '../src/analysis/analyze.ts';
import { crossCheckShapes, findPythonOnnx } from '../src/analysis/crosscheck.ts';
import { ZOO } from '../src/zoo/index.ts';

const python = findPythonOnnx();
if (python === undefined) {
  console.log('skipped: no python3 with the onnx package (Debian: apt-get install python3-onnx)');
  process.exit(0);
}
let differing = 0;
for (const entry of ZOO) {
  const graph = entry.build();
  const { compared, differences } = crossCheckShapes(graph, analyzeGraph(graph), python);
  differing += differences.length;
  console.log(`${entry.name}: ${compared} tensors compared, ${differences.length} differ`);
  for (const d of differences) console.log(`  ${d.tensor}: ours [${d.ours.join(',')}], onnx [${d.onnx.join(',')}]`);
}
process.exitCode = differing === 0 ? 0 : 1;
