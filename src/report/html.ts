/** One block of the report: a heading, an optional paragraph, an inline SVG chart and/or a table. */
export interface ReportSection {
  title: string;
  /** Shown first, in a red box: something the reader must not miss. */
  warning?: string;
  text?: string;
  /** More paragraphs after `text`. */
  paragraphs?: string[];
  /** Terms and their definitions (so a mailed report explains itself without the docs). */
  definitions?: Array<[string, string]>;
  svg?: string;
  table?: { headers: string[]; rows: (string | number)[][]; highlightRow?: number };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem} .sub{color:#666;margin-top:0}
section{margin:2rem 0;border-top:1px solid #ddd;padding-top:1rem} h2{font-size:1.15rem}
table{border-collapse:collapse;font-size:.9rem} th,td{padding:.25rem .6rem;border-bottom:1px solid #eee}
th{text-align:left;background:#f6f6f6} td{text-align:left} td.n{text-align:right}
tr.best td{font-weight:bold;background:#eef7ee} .chart svg{max-width:100%;height:auto}
.warning{border:2px solid #c0392b;background:#fdecea;padding:.6rem .9rem;border-radius:4px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;font-size:.9rem} dt{font-weight:bold} dd{margin:0}
.decision{font-size:1.05rem}`;

/** Cells that read as numbers (signs, digits, a decimal point, a trailing % or ×) are right-aligned. */
const NUMERIC = /^[-+−]?[\d.,]+(%|×)?$/;

function renderTable(table: NonNullable<ReportSection['table']>): string {
  const head = `<tr>${table.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = table.rows
    .map(
      (row, i) =>
        `<tr${i === table.highlightRow ? ' class="best"' : ''}>${row.map((c) => `<td${NUMERIC.test(String(c)) ? ' class="n"' : ''}>${escapeHtml(String(c))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n${head}\n${body}\n</table>`;
}

/**
 * A self-contained HTML page: styles inline, charts as inline SVG, no scripts and no external resources,
 * so the file can be mailed or archived and still opens anywhere.
 */
export function renderHtmlReport(title: string, subtitle: string, sections: ReportSection[]): string {
  const body = sections
    .map((s) => {
      const parts = [`<h2>${escapeHtml(s.title)}</h2>`];
      if (s.warning !== undefined) parts.push(`<p class="warning">${escapeHtml(s.warning)}</p>`);
      if (s.text !== undefined) parts.push(`<p>${escapeHtml(s.text)}</p>`);
      if (s.table !== undefined) parts.push(renderTable(s.table));
      for (const paragraph of s.paragraphs ?? []) parts.push(`<p>${escapeHtml(paragraph)}</p>`);
      if (s.definitions !== undefined)
        parts.push(`<dl>${s.definitions.map(([term, text]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(text)}</dd>`).join('')}</dl>`);
      if (s.svg !== undefined) parts.push(`<div class="chart">${s.svg.replace(/^<\?xml[^>]*>\s*/, '')}</div>`);
      return `<section>\n${parts.join('\n')}\n</section>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${escapeHtml(subtitle)}</p>
${body}
</body></html>
`;
}
