import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fail } from '../errors.ts';
import { countParams } from '../ir/params.ts';
import { writeModelFile } from '../onnx/write.ts';
import type { ZooBuildOptions } from './entry.ts';
import { zooEntry } from './index.ts';

/** onnx's own threshold (`convert_model_to_external_data(size_threshold=1024)`). */
const INLINE_BELOW_BYTES = 1024;

export interface ZooExport {
  model: string;
  path: string;
  /** Size of the .onnx file. */
  bytes: number;
  /** The external-data side file and its size, when the weights went there. */
  dataPath?: string;
  dataBytes?: number;
  params: number;
}

/**
 * Builds a zoo model and writes it as an ONNX file with its seeded random weights. Weights go to
 * `<path>.data` when `externalData` is set or when they are too large for one protobuf message.
 */
export function exportZooModel(name: string, path: string, options: ZooBuildOptions & { externalData?: boolean } = {}): ZooExport {
  const { externalData, ...buildOptions } = options;
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) fail(`cannot write '${path}': folder '${folder}' does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) fail(`cannot write '${path}': it is a folder`);
  const graph = zooEntry(name).build(buildOptions);
  const dataPath = `${path}.data`;
  // A side file left by an earlier export of the same path would otherwise be mistaken for this one's.
  rmSync(dataPath, { force: true });
  // Small constants (Reshape shapes, axes) stay inline: onnxruntime reads them during shape inference.
  writeModelFile(graph, path, { externalData: externalData ? 'always' : 'auto', inlineBelowBytes: INLINE_BELOW_BYTES });
  const result: ZooExport = { model: name, path, bytes: statSync(path).size, params: countParams(graph) };
  if (existsSync(dataPath)) {
    result.dataPath = dataPath;
    result.dataBytes = statSync(dataPath).size;
  }
  return result;
}
