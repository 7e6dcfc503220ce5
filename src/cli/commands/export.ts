import type { Command } from 'commander';
import { exportZooModel } from '../../zoo/export.ts';
import { mebibytes, positiveInteger } from '../options.ts';

export function register(program: Command): void {
  program
    .command('export')
    .description('write a built-in model as an ONNX file (opset 17, float32, seeded random weights)')
    .argument('<model>', 'built-in model name (see `memorianova zoo`)')
    .requiredOption('-o, --output <file.onnx>', 'where to write the model')
    .option('--batch <n>', 'batch size (default 1)', positiveInteger('--batch'))
    .option('--seq-len <n>', 'transformers: tokens per sequence (default 128)', positiveInteger('--seq-len'))
    .option('--layers <n>', 'transformers: keep only the first n layers', positiveInteger('--layers'))
    .option('--external-data', 'store the weights in <file.onnx>.data (always done above 1.5 GB)')
    .option('--json', 'print one JSON object describing the written files')
    .action(
      (
        model: string,
        options: { output: string; batch?: number; seqLen?: number; layers?: number; externalData?: boolean; json?: boolean },
      ) => {
        const result = exportZooModel(model, options.output, {
          ...(options.batch === undefined ? {} : { batch: options.batch }),
          ...(options.seqLen === undefined ? {} : { seqLen: options.seqLen }),
          ...(options.layers === undefined ? {} : { layers: options.layers }),
          externalData: options.externalData ?? false,
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
          return;
        }
        const data = result.dataPath === undefined ? '' : ` + ${result.dataPath} (${mebibytes(result.dataBytes!, 1)})`;
        process.stdout.write(
          `wrote ${result.model} to ${result.path} (${mebibytes(result.bytes, 1)})${data}, ${result.params.toLocaleString('en-US')} parameters\n`,
        );
      },
    );
}
