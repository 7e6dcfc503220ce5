import { createHash } from 'node:crypto';
import type { Attribute, Model } from '../ir/graph.ts';

function attributeValue(attr: Attribute): unknown {
  if (attr.type === 'tensor') return { dtype: attr.value.dtype, shape: attr.value.shape };
  if (attr.type === 'graph') return 'graph';
  return attr.value;
}

/**
 * A hash of what a plan depends on: the folded graph's operators (name, type, domain, tensors read and written,
 * attributes), every tensor's dtype, shape and kind, and the graph's inputs and outputs. Weight values are left
 * out: they change neither slices nor costs. SHA-256, first 16 hex digits (docs/plan-format.md).
 */
export function modelFingerprint(model: Model): string {
  const hash = createHash('sha256');
  for (const { node } of model.ops) {
    const attrs = Object.keys(node.attributes)
      .sort()
      .map((key) => [key, attributeValue(node.attributes[key]!)]);
    hash.update(JSON.stringify([node.name, node.opType, node.domain, node.inputs, node.outputs, attrs]));
  }
  const tensors = [...model.tensors.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of tensors) hash.update(JSON.stringify([t.name, t.dtype, t.shape, t.kind]));
  hash.update(JSON.stringify([model.graph.inputs.map((i) => i.name), model.graph.outputs.map((o) => o.name)]));
  return hash.digest('hex').slice(0, 16);
}
