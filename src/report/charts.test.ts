import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderChart } from './charts.ts';

test('a line chart renders to SVG and a PNG image', async () => {
  const { svg, png } = await renderChart({
    data: {
      values: [
        { step: 0, mb: 1 },
        { step: 1, mb: 3 },
        { step: 2, mb: 2 },
      ],
    },
    mark: 'line',
    encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'mb', type: 'quantitative' } },
  });
  assert.match(svg, /^<svg/);
  assert.match(svg, /<path/);
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
});
