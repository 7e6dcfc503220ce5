import { Command, CommanderError } from 'commander';
import { MemoriaNovaError } from '../errors.ts';
import { disableOrtTelemetry } from '../runtime/telemetry.ts';
import { VERSION } from '../version.ts';
import { commands } from './commands/index.ts';

disableOrtTelemetry();

// A reader that goes away (`memorianova zoo | head -3`) ends the command quietly, whatever it was doing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

const program = new Command('memorianova')
  .description('Memory-aware operator ordering and distributed partitioning of ONNX models for edge devices')
  .version(VERSION, '-V, --version', 'print the version')
  .option('--debug', 'print stack traces for errors')
  .exitOverride()
  .configureOutput({ writeErr: (text) => process.stderr.write(text) });

for (const register of commands) register(program);

const debug = process.argv.includes('--debug');

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (usage errors, --help, --version).
    return error.exitCode;
  }
  if (error instanceof MemoriaNovaError) {
    process.stderr.write(`error: ${error.message}\n`);
    if (debug) process.stderr.write(`${error.stack ?? ''}\n`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`internal error: ${message.split('\n')[0]} (rerun with --debug for the stack trace)\n`);
  if (debug && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  return 70;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = report(error);
}
