import type { Command } from 'commander';
import { EXECUTION_PROVIDERS } from '../../cluster/types.ts';
import { profileModel } from '../../runtime/profile.ts';
import { describeTarget, parseTarget } from '../../runtime/targets.ts';
import {
  addModelOptions,
  formatTable,
  loadModelFromFlags,
  positiveInteger,
  type ModelFlags,
  checkOutputFile,
  writeOutputFile,
} from '../options.ts';
import { Progress } from '../progress.ts';

interface ProfileFlags extends ModelFlags {
  output?: string;
  runs: number;
  slices?: boolean;
  overheads: boolean;
  json?: boolean;
  executionProviders?: string;
  threads?: number;
}

export function register(program: Command): void {
  const command = program
    .command('profile')
    .description(
      "time every operator (and, with --slices, half of each splittable one) with onnxruntime on this machine; write a device profile a cluster file's `profile:` can name (docs/runtime.md)",
    )
    .argument('<model>', 'built-in model name or a path to an .onnx file');
  addModelOptions(command)
    .option('-o, --output <file>', 'write the profile here (JSON)')
    .option('--runs <n>', 'timed runs per operator (median kept)', positiveInteger('--runs'), 5)
    .option('--slices', 'also time half-slices and report how far their time is from the whole time × their share')
    .option('--no-overheads', 'skip timing the calibration plans that fit the step and split-slice overheads')
    .option(
      '--execution-providers <list>',
      `ONNX Runtime execution providers of the timed sessions, in order of preference (${EXECUTION_PROVIDERS.join(', ')})`,
      'cpu',
    )
    .option('--threads <n>', 'intra-op threads of the timed sessions', positiveInteger('--threads'), 1)
    .option('--json', 'print one JSON object')
    .action(async (spec: string, flags: ProfileFlags) => {
      if (flags.output !== undefined) checkOutputFile(flags.output, '-o');
      const target = parseTarget(flags.executionProviders, flags.threads, '--execution-providers');
      const model = loadModelFromFlags(spec, flags);
      const progress = new Progress();
      const step = (what: string) => (done: number, total: number) => {
        if (done === 1) progress.phase(what, total);
        progress.update(done, `${done}/${total}`);
        if (done === total) progress.end(`${total} done`);
      };
      const result = await profileModel(model, {
        runs: flags.runs,
        slices: flags.slices ?? false,
        overheads: flags.overheads,
        target,
        onOp: step('profiling operators'),
        onCalibrationStep: step('calibration step runs'),
      });
      if (flags.output !== undefined) writeOutputFile(flags.output, `${JSON.stringify(result.profile, null, 2)}\n`);
      const sliceErrors = result.slices.map((s) => ((s.sliceMs - s.wholeMs * s.fraction) / (s.wholeMs * s.fraction)) * 100);
      const medianSliceError = sliceErrors.length === 0 ? null : [...sliceErrors].sort((a, b) => a - b)[sliceErrors.length >> 1]!;
      if (flags.json) {
        const calibration =
          result.calibration === undefined
            ? null
            : {
                ...result.calibration.overheads,
                scale: result.calibration.scale,
                rmsMs: result.calibration.rmsMs,
                steps: result.calibration.samples,
              };
        process.stdout.write(
          `${JSON.stringify({ model: model.name, executionProviders: target.executionProviders, threads: target.threads, totalMs: result.totalMs, gflops: result.gflops, opTypes: result.profile.opTypes, ops: result.profile.ops, overheads: calibration, slices: result.slices, medianSliceErrorPercent: medianSliceError })}\n`,
        );
        return;
      }
      const lines = [
        `${model.name}: ${Object.keys(result.profile.ops!).length} operators, ${result.totalMs.toFixed(1)} ms in all, ${result.gflops.toFixed(2)} GFLOP/s effective (${describeTarget(target)})`,
        '',
        formatTable(
          ['operator type', 'GFLOP/s'],
          Object.entries(result.profile.opTypes!)
            .sort((a, b) => b[1] - a[1])
            .map(([t, g]) => [t, g.toFixed(2)]),
        ),
      ];
      const fit = result.calibration;
      if (fit !== undefined) {
        const o = fit.overheads;
        lines.push(
          '',
          `overheads fitted on ${fit.samples.length} calibration steps (rms ${fit.rmsMs.toFixed(2)} ms, speed ×${fit.scale.toFixed(3)} of the profile): ${o.stepMs.toFixed(3)} ms per step + ${o.msPerMiB.toFixed(3)} ms per MiB at its border; operators split by ${
            Object.entries(o.splitPenalty)
              .map(([dim, p]) => `${dim} ${p >= 0 ? '+' : ''}${(p * 100).toFixed(1)}%`)
              .join(', ') || '(none)'
          } over their share`,
        );
      }
      if (medianSliceError !== null)
        lines.push(
          '',
          `half slices: median deviation from whole time × share ${medianSliceError >= 0 ? '+' : ''}${medianSliceError.toFixed(1)}% over ${sliceErrors.length} operators`,
        );
      if (flags.output !== undefined) lines.push('', `profile written to ${flags.output}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
