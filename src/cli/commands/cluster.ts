import type { Command } from 'commander';
import { loadCluster } from '../../cluster/load.ts';
import { PRESET_NAMES } from '../../cluster/presets.ts';
import { clusterYaml } from '../../cluster/yaml.ts';

export function register(program: Command): void {
  const cluster = program.command('cluster').description('cluster presets and files');
  cluster
    .command('show')
    .description(`print a preset (${PRESET_NAMES.join(', ')}) or a cluster file, checked, as an editable YAML cluster file`)
    .argument('<preset|file>', 'preset name or YAML/JSON cluster file')
    .action((spec: string) => {
      process.stdout.write(clusterYaml(loadCluster(spec)));
    });
}
