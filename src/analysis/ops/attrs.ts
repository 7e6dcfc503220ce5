import { fail } from '../../errors.ts';
import type { Attribute, Node, Weight } from '../../ir/graph.ts';

/** Typed access to a node's attributes; a wrong type is a clear error naming node and attribute. */
export class Attrs {
  constructor(private readonly node: Node) {}

  has(name: string): boolean {
    return this.node.attributes[name] !== undefined;
  }

  private get(name: string, types: Attribute['type'][]): Attribute | undefined {
    const attr = this.node.attributes[name];
    if (attr === undefined) return undefined;
    if (!types.includes(attr.type)) {
      fail(
        `attribute '${name}' of ${this.node.opType} node '${this.node.name}' has type ${attr.type}, expected ${types.join(' or ')}`,
        'invalid-model',
      );
    }
    return attr;
  }

  int(name: string, fallback: number): number {
    const attr = this.get(name, ['int', 'float']);
    return attr === undefined ? fallback : (attr.value as number);
  }

  float(name: string, fallback: number): number {
    const attr = this.get(name, ['float', 'int']);
    return attr === undefined ? fallback : (attr.value as number);
  }

  string(name: string, fallback: string): string {
    const attr = this.get(name, ['string']);
    return attr === undefined ? fallback : (attr.value as string);
  }

  ints(name: string): number[] | undefined {
    const attr = this.get(name, ['ints', 'floats', 'int']);
    if (attr === undefined) return undefined;
    return typeof attr.value === 'number' ? [attr.value] : (attr.value as number[]);
  }

  floats(name: string): number[] | undefined {
    const attr = this.get(name, ['floats', 'ints', 'float']);
    if (attr === undefined) return undefined;
    return typeof attr.value === 'number' ? [attr.value] : (attr.value as number[]);
  }

  tensor(name: string): Weight | undefined {
    const attr = this.get(name, ['tensor']);
    return attr === undefined ? undefined : (attr.value as Weight);
  }
}
