import { fail } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';

/** What a caller may choose when building a zoo model; anything left out takes the entry's default. */
export interface ZooBuildOptions {
  batch?: number;
  /** Transformers only: tokens per sequence. */
  seqLen?: number;
  /** Transformers only: how many transformer layers to keep (tests use 1–2 to keep exports small). */
  layers?: number;
}

export interface ZooDefaults {
  batch: number;
  /** Transformers: default sequence length and the longest the position tables allow. */
  seqLen?: number;
  maxSeqLen?: number;
  /** Transformers: the published number of layers. */
  layers?: number;
  /** CNNs: the image input `[channels, height, width]`. */
  image?: [number, number, number];
}

export interface ZooEntry {
  name: string;
  title: string;
  family: 'cnn' | 'transformer';
  /** The published configuration the graph follows. */
  source: string;
  /**
   * The exact published parameter count (torchvision's model table, the Hugging Face model's parameter total,
   * darknet's weight file) the built graph is checked against; docs/zoo.md gives each source.
   */
  publishedParams: number;
  defaults: ZooDefaults;
  build(options?: ZooBuildOptions): Graph;
}

export interface ResolvedTransformerOptions {
  batch: number;
  seqLen: number;
  layers: number;
}

function positiveInteger(model: string, option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) fail(`model '${model}': ${option} must be a positive integer, got ${value}`);
  return value;
}

/** A CNN entry: only the batch size is adjustable. */
export function cnnEntry(
  spec: Omit<ZooEntry, 'family' | 'build' | 'defaults'> & { image: [number, number, number] },
  build: (batch: number) => Graph,
): ZooEntry {
  const { image, ...rest } = spec;
  return {
    ...rest,
    family: 'cnn',
    defaults: { batch: 1, image },
    build(options: ZooBuildOptions = {}) {
      if (options.seqLen !== undefined) fail(`model '${spec.name}' is a CNN: a sequence length does not apply`);
      if (options.layers !== undefined) fail(`model '${spec.name}' is a CNN: a layer count does not apply`);
      return build(positiveInteger(spec.name, 'batch', options.batch ?? 1));
    },
  };
}

/** A transformer entry: batch, sequence length (up to the position table) and layer count are adjustable. */
export function transformerEntry(
  spec: Omit<ZooEntry, 'family' | 'build' | 'defaults'> & { layers: number; maxSeqLen: number; seqLen?: number },
  build: (options: ResolvedTransformerOptions) => Graph,
): ZooEntry {
  const { layers, maxSeqLen, seqLen, ...rest } = spec;
  const defaults = { batch: 1, seqLen: seqLen ?? 128, maxSeqLen, layers };
  return {
    ...rest,
    family: 'transformer',
    defaults,
    build(options: ZooBuildOptions = {}) {
      const resolved = {
        batch: positiveInteger(spec.name, 'batch', options.batch ?? defaults.batch),
        seqLen: positiveInteger(spec.name, 'sequence length', options.seqLen ?? defaults.seqLen),
        layers: positiveInteger(spec.name, 'layers', options.layers ?? defaults.layers),
      };
      if (resolved.layers > layers) fail(`model '${spec.name}': layers ${resolved.layers} exceeds its ${layers} layers`);
      if (resolved.seqLen > maxSeqLen) fail(`model '${spec.name}': sequence length ${resolved.seqLen} exceeds its ${maxSeqLen} positions`);
      return build(resolved);
    },
  };
}
