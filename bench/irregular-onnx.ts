// npm run bench:irregular-onnx [-- <dir>]: writes the irregularly wired benchmark graphs as ONNX files
// (randwire-ws-32.onnx: the three random stages; darts-v2.onnx: the 8-cell DARTS-V2 stack) so that
// `memorianova order <dir>/randwire-ws-32.onnx --plot <dir>` can show the hard case from the CLI.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeModelFile } from '../src/onnx/write.ts';
import { dartsGraph } from '../src/zoo/darts.ts';
import { randWireGraph } from '../src/zoo/randwire.ts';

const dir = process.argv[2] ?? 'out';
mkdirSync(dir, { recursive: true });
for (const [file, graph] of [
  ['randwire-ws-32.onnx', randWireGraph({ stagesOnly: true })],
  ['darts-v2.onnx', dartsGraph()],
] as const) {
  const path = join(dir, file);
  writeModelFile(graph, path);
  process.stdout.write(`wrote ${path} (${graph.nodes.length} nodes)\n`);
}
