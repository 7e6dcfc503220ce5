import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { presetCluster } from '../cluster/presets.ts';
import { runPlanJob } from '../pipeline/plan-job.ts';
import { smallCnn } from '../runtime/testing.ts';
import { renderPlanReport } from './plan-report.ts';

/** Debian's Chromium (apt-get install chromium), or CHROMIUM=path; without one the test is skipped. */
const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
const dir = mkdtempSync(join(tmpdir(), 'memorianova-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it(
  'the plan report renders in headless Chromium without console errors and says what was decided',
  { skip: !existsSync(chromium) && `no ${chromium}` },
  async () => {
    const job = await runPlanJob(smallCnn(), presetCluster('homo2')!, { timeLimitMs: 3000, geneflow: { seed: 1 } });
    const html = await renderPlanReport(job, { commandLine: 'memorianova plan small-cnn --cluster homo2', seed: 1, timeLimitS: 3 });
    const path = join(dir, 'report.html');
    writeFileSync(path, html);
    const run = spawnSync(
      chromium,
      ['--headless', '--no-sandbox', '--disable-gpu', '--enable-logging=stderr', '--v=0', '--dump-dom', `file://${path}`],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /CONSOLE/, 'no console messages');
    for (const heading of ['Decision', 'The chosen plan', 'Methods compared', 'Lower bound', 'Inputs'])
      assert.ok(run.stdout.includes(`<h2>${heading}`), `the rendered page has the section '${heading}'`);
    assert.match(run.stdout, /Decision: (split the model over|run the whole model on one device)/, 'the decision in words');
    assert.match(run.stdout, /A freely divisible split \(the work cut in any shares[^)]*\) would /, 'the ideal split, defined inline');
    assert.match(run.stdout, /the busiest channel \([^)]+\) carries data for \d+\.\d% of the plan/, 'how busy the busiest channel is');
    assert.ok((run.stdout.match(/<svg/g) ?? []).length >= 4, 'the charts are drawn');
  },
);
