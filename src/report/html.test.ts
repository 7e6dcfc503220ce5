import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderHtmlReport } from './html.ts';

test('the report is one self-contained page: inline SVG, escaped text, no external resources', () => {
  const html = renderHtmlReport('Plan <resnet50>', 'hetero4', [
    {
      title: 'Methods',
      table: {
        headers: ['method', 'ms'],
        rows: [
          ['geneflow', 12.5],
          ['single', 40],
        ],
        highlightRow: 0,
      },
    },
    { title: 'Chart', svg: '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>' },
  ]);
  assert.match(html, /<title>Plan &lt;resnet50&gt;<\/title>/);
  assert.match(html, /<tr class="best"><td>geneflow<\/td><td class="n">12.5<\/td><\/tr>/);
  assert.match(html, /<div class="chart"><svg xmlns/);
  assert.doesNotMatch(html, /<script|<link|src="http|<\?xml/);
});
