import { fail } from '../../errors.ts';
import type { Attribute, Node, Weight } from '../../ir/graph.ts';
import { list } from './util.ts';

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

  private what(name: string): string {
    return `attribute '${name}' of ${this.node.opType} node '${this.node.name}'`;
  }

  int(name: string, fallback: number): number {
    const attr = this.get(name, ['int']);
    return attr === undefined ? fallback : (attr.value as number);
  }

  /** An INT attribute that must be at least `min`. */
  intAtLeast(name: string, fallback: number, min: number): number {
    const value = this.int(name, fallback);
    if (!(value >= min)) fail(`${this.what(name)} is ${value}, must be at least ${min}`, 'invalid-model');
    return value;
  }

  /** An INTS attribute of `length` integers, each at least `min`; `fallback` when absent. */
  intList(name: string, length: number, min: number, fallback: number): number[] {
    const values = this.ints(name);
    if (values === undefined) return new Array<number>(length).fill(fallback);
    if (values.length !== length)
      fail(`${this.what(name)} has ${values.length} values ${list(values)}, expected ${length}`, 'invalid-model');
    if (values.some((v) => !(v >= min)))
      fail(`${this.what(name)} is ${list(values)}: every value must be at least ${min}`, 'invalid-model');
    return values;
  }

  /** An INT where a FLOAT is expected is taken: the value is the same number. */
  float(name: string, fallback: number): number {
    const attr = this.get(name, ['float', 'int']);
    return attr === undefined ? fallback : (attr.value as number);
  }

  string(name: string, fallback: string): string {
    const attr = this.get(name, ['string']);
    return attr === undefined ? fallback : (attr.value as string);
  }

  ints(name: string): number[] | undefined {
    const attr = this.get(name, ['ints']);
    return attr === undefined ? undefined : (attr.value as number[]);
  }

  /** INTS where FLOATS are expected are taken: the values are the same numbers. */
  floats(name: string): number[] | undefined {
    const attr = this.get(name, ['floats', 'ints']);
    return attr === undefined ? undefined : (attr.value as number[]);
  }

  tensor(name: string): Weight | undefined {
    const attr = this.get(name, ['tensor']);
    return attr === undefined ? undefined : (attr.value as Weight);
  }
}
