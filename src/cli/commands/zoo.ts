import type { Command } from 'commander';
import { summarizeZoo, type ZooSummary } from '../../zoo/summary.ts';

function formatRow(s: ZooSummary): string[] {
  const input = Object.values(s.inputs)[0]!.join('×');
  return [
    s.name,
    s.title,
    s.family === 'transformer' ? `${input} tokens` : input,
    `${(s.params / 1e6).toFixed(2)} M`,
    `${(s.publishedParams / 1e6).toFixed(2)} M`,
    (s.flops / 1e9).toFixed(2),
    s.source,
  ];
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function register(program: Command): void {
  program
    .command('zoo')
    .description('list the built-in models: parameters (ours and published), GFLOPs at the default input, source configuration')
    .option('--json', 'print one JSON object: { models: [...] }')
    .action((options: { json?: boolean }) => {
      const models = summarizeZoo();
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ models })}\n`);
        return;
      }
      const header = ['name', 'title', 'input', 'params', 'published', 'GFLOPs', 'source'];
      process.stdout.write(`${table(header, models.map(formatRow))}\n`);
      process.stdout.write(
        '\nGFLOPs: all operators at batch 1 (sequence 128 for transformers), a multiply-add counting 2 (docs/zoo.md).\n',
      );
    });
}
