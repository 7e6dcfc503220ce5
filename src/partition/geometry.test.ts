import assert from 'node:assert/strict';
import { test } from 'node:test';
import { supportedOperators } from '../analysis/ops/registry.ts';
import { SPLIT_RULES, WHOLE_OPERATORS } from './geometry.ts';

test('every supported operator has a split rule or is declared whole, never both, and every rule names a supported operator', () => {
  const supported = new Set(supportedOperators());
  const ruled = new Set([...SPLIT_RULES.keys(), 'Split']);
  for (const type of supported)
    assert.ok(
      ruled.has(type) !== WHOLE_OPERATORS.has(type),
      `${type}: ${ruled.has(type) ? 'both a split rule and declared whole' : 'neither a split rule nor declared whole'}`,
    );
  for (const type of [...ruled, ...WHOLE_OPERATORS]) assert.ok(supported.has(type), `${type} is not a supported operator`);
});
