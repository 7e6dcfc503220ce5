import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { fail } from '../../errors.ts';
import { planModel, readPlan } from '../../plan/io.ts';
import { DEFAULT_EXTERNAL_DATA_ABOVE_BYTES, writeBundle } from '../../runtime/deploy.ts';
import { addModelOptions, formatTable, loadModelForPlan, mebibytes, positiveNumber, type ModelFlags } from '../options.ts';
import { Progress } from '../progress.ts';

interface DeployFlags extends ModelFlags {
  plan: string;
  output: string;
  externalDataAbove: number;
  json?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('deploy')
    .description(
      'write a per-device deployment bundle of a plan: ONNX sub-models, manifest.json with checksums, README (docs/runtime.md, "Bundles")',
    )
    .argument('<model>', 'built-in model name or a path to an .onnx file');
  addModelOptions(command)
    .requiredOption('--plan <file>', 'plan file (memorianova plan / simulate)')
    .requiredOption('-o, --output <dir>', 'bundle folder (new, empty, or a bundle to replace)')
    .option(
      '--external-data-above <MiB>',
      "keep a sub-model's weights in <file>.data when they exceed this",
      positiveNumber('--external-data-above'),
      DEFAULT_EXTERNAL_DATA_ABOVE_BYTES / 2 ** 20,
    )
    .option('--json', 'print one JSON object')
    .action((spec: string, flags: DeployFlags) => {
      if (existsSync(flags.output) && !statSync(flags.output).isDirectory()) fail(`-o '${flags.output}' is a file, not a folder`, 'usage');
      const model = loadModelForPlan(spec, flags, planModel(flags.plan), `plan file ${flags.plan}`);
      const plan = readPlan(flags.plan, model);
      const progress = new Progress();
      const result = writeBundle(model, plan, flags.output, {
        externalDataAboveBytes: flags.externalDataAbove * 2 ** 20,
        onStep: (device: string, s: number, n: number) => {
          if (s === 0) progress.phase(`${device}: sub-models`, n);
          progress.update(s + 1, `${s + 1}/${n}`);
          if (s + 1 === n) progress.end(`${n} written`);
        },
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        return;
      }
      process.stdout.write(
        `wrote the bundle of '${model.name}' (fingerprint ${result.fingerprint}), plan '${plan.method}', to ${result.dir}\n\n` +
          formatTable(
            ['device', 'folder', 'steps', 'files', 'size'],
            result.devices.map((d) => [d.name, `${d.folder}/`, d.steps, d.files, mebibytes(d.bytes, 1)]),
          ) +
          `\n\neach folder's README.md and manifest.json say what its sub-models read, compute and send\n`,
      );
    });
}
