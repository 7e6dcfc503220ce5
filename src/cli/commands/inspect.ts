import type { Command } from 'commander';
import { summarize } from '../../analysis/summary.ts';
import type { Model } from '../../ir/graph.ts';
import { memoryGraphOf, weightBytesOf } from '../../memory/graph.ts';
import { evaluateOrder, type MemoryOptions } from '../../memory/model.ts';
import { addModelOptions, formatTable, loadModelFromFlags, mebibytes, type ModelFlags } from '../options.ts';

interface InspectFlags extends ModelFlags {
  json?: boolean;
  inplace: boolean;
  includeWeights?: boolean;
  all?: boolean;
}

/** Everything `inspect` reports, as the library computes it (docs/costs.md, docs/memory.md). */
export function inspectModel(model: Model, memory: MemoryOptions = {}) {
  const summary = summarize(model);
  const graph = memoryGraphOf(model);
  const weights = weightBytesOf(model);
  const fileOrder = graph.ops.map((_, i) => i);
  const profile = evaluateOrder(graph, fileOrder, memory, weights);
  return { summary, profile };
}

export function register(program: Command): void {
  const command = program
    .command('inspect')
    .description('summarise a model: operators, parameters, weights, FLOPs, largest activations, peak memory of the file order')
    .argument('<model>', 'built-in model name (see `memorianova zoo`) or a path to an .onnx file');
  addModelOptions(command)
    .option('--no-inplace', 'do not let element-wise operators reuse a dying input buffer')
    .option('--include-weights', 'count the weights as resident memory in the peak')
    .option('--all', 'list every activation tensor, not only the largest')
    .option('--json', 'print one JSON object')
    .action((spec: string, flags: InspectFlags) => {
      const model = loadModelFromFlags(spec, flags);
      const memory: MemoryOptions = { inplace: flags.inplace, includeWeights: flags.includeWeights ?? false };
      const { summary, profile } = inspectModel(model, memory);
      const activations = [...model.tensors.values()].filter((t) => t.kind !== 'weight');
      if (flags.json) {
        const json = {
          model: model.name,
          operators: summary.operators,
          opsByType: summary.opsByType,
          params: summary.params,
          initializerElements: summary.fileTensors.initializerElements,
          constantNodeElements: summary.fileTensors.constantNodeElements,
          weightBytes: summary.weightBytes,
          flops: summary.flops,
          peakBytes: profile.peakBytes,
          peakOperator: profile.peakStep >= 0 ? model.ops[profile.peakStep]!.node.name : null,
          inputs: model.graph.inputs.map((i) => ({ name: i.name, shape: model.tensors.get(i.name)?.shape })),
          outputs: model.graph.outputs.map((o) => ({ name: o.name, shape: model.tensors.get(o.name)?.shape })),
          tensors: Object.fromEntries(activations.map((t) => [t.name, t.shape])),
          warnings: model.warnings,
        };
        process.stdout.write(`${JSON.stringify(json)}\n`);
        return;
      }
      const lines: string[] = [];
      lines.push(
        `${model.name}: ${summary.operators} operators, ${summary.params.toLocaleString('en-US')} parameters, ` +
          `${mebibytes(summary.weightBytes, 1)} of weights, ${(summary.flops / 1e9).toFixed(3)} GFLOPs`,
      );
      const file = summary.fileTensors;
      lines.push(
        `file tensors: ${file.initializerElements.toLocaleString('en-US')} initializer elements, ` +
          `${file.constantNodeElements.toLocaleString('en-US')} Constant-node elements (before folding, any type)`,
      );
      for (const input of model.graph.inputs) lines.push(`input  ${input.name} ${JSON.stringify(model.tensors.get(input.name)?.shape)}`);
      for (const output of model.graph.outputs)
        lines.push(`output ${output.name} ${JSON.stringify(model.tensors.get(output.name)?.shape)}`);
      const peakAt = profile.peakStep >= 0 ? ` (at '${model.ops[profile.peakStep]!.node.name}')` : '';
      lines.push(
        `peak memory of the file's order: ${mebibytes(profile.peakBytes)}${peakAt}` +
          `${memory.includeWeights ? ', weights included' : ', activations only'}${memory.inplace === false ? ', no in-place' : ''}`,
      );
      lines.push('', formatTable(['operator type', 'count'], Object.entries(summary.opsByType)));
      const listed = flags.all ? [...activations].sort((a, b) => b.bytes - a.bytes) : summary.largestActivations;
      lines.push(
        '',
        formatTable(
          [flags.all ? 'activation' : 'largest activations', 'shape', 'dtype', 'MiB'],
          listed.map((t) => [t.name, t.shape.join('x'), t.dtype, (t.bytes / 2 ** 20).toFixed(3)]),
        ),
      );
      for (const warning of model.warnings) lines.push(`warning: ${warning}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
