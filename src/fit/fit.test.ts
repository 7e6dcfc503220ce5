import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presetDevice } from '../cluster/presets.ts';
import { modelFingerprint } from '../model/fingerprint.ts';
import { smallCnn } from '../runtime/testing.ts';
import { fitContext, fitModel } from './fit.ts';
import { fitLatency, groupCost } from './latency.ts';
import { fitMemory, groupPeakByTiles, groupPeakBytes, planMemory, type Segment } from './memory.ts';
import { paretoFront, spaceGrids, type FitSpace } from './search.ts';
import { parseByteSize } from './size.ts';
import { partitionContext } from '../partition/context.ts';
import { fitPlanOf } from './plan.ts';
import { kvFirstOrder, tileablePositions } from './space.ts';
import { exitShare, gridLimit, exitsOf, tileGroup, tileGroupCached, viewsFit } from './tiles.ts';
import { concatChunks, randomConvStack, residualStack, threeConvs, tinyAttention, tinyHeads } from './testing.ts';
import { wholeOpMs } from '../simulate/latency.ts';

const pi = presetDevice('pi')!;

describe('fit: tiled steps under the memory model', () => {
  it('three convs in one group of 2×1 tiles: the hand-computed steps of docs/memory.md', () => {
    const model = threeConvs();
    const { ctx, memory } = fitContext(model);
    assert.deepEqual(ctx.order, ['conv1', 'conv2', 'conv3'], 'a chain has one order');
    assert.equal(memory.untiled.peakBytes, 2048, 'untiled: a and b live together while conv2 runs');
    const tiling = tileGroup(ctx, 0, 2, { rows: 2, cols: 1 });
    const segments: Segment[] = [{ first: 0, tiling }];
    const profile = planMemory(memory, segments);
    assert.deepEqual(profile.stepBytes, [512, 1152, 1664, 1152, 640, 1152, 1408, 896, 384], 'alloc, tile 0 (conv1..3, write), tile 1');
    assert.equal(profile.peakBytes, 1664, 'peak: tile 0 of conv2');
    assert.equal(groupPeakBytes(memory, tiling, 0), 1664, 'the group evaluated alone');
    assert.equal(groupPeakByTiles(memory, tiling, 0, ['a', 'b']), 1664, 'the group evaluated tile by tile');
    const cost = groupCost(fitLatency(ctx, pi, modelFingerprint(model)), tiling, 0);
    const conv1 = model.ops.find((op) => op.node.name === 'conv1')!.cost.flops;
    assert.equal(cost.overheadFlops, conv1 / 4, 'conv1 computes rows 0..4 and 3..7 of its 8 rows: 10 of 8, a quarter more');
    assert.equal(cost.tiles, 2, 'two tiles');
  });

  it('three convs in 2×1 tiles with cached halos: the hand-computed steps of docs/memory.md ("Cached halos")', () => {
    const model = threeConvs();
    const { ctx, memory } = fitContext(model);
    const tiling = tileGroupCached(ctx, 0, 2, { rows: 2, cols: 1 });
    const rows = (box: readonly (readonly number[])[] | null | undefined) => (box == null ? null : box[2]);
    const [t0, t1] = tiling.tiles;
    assert.deepEqual(
      t0!.slices.map((s) => rows(s?.outputs[0])),
      [
        [0, 5],
        [0, 4],
        [0, 4],
      ],
      'tile 0 computes a 0–4, b 0–3, y 0–3',
    );
    assert.deepEqual(t0!.kept!.map(rows), [[3, 5], null, null], 'tile 0 keeps rows 3–4 of a for tile 1');
    assert.deepEqual(t1!.cached!.map(rows), [[3, 5], null, null], 'tile 1 takes them from the cache');
    assert.deepEqual(
      t1!.slices.map((s) => rows(s?.outputs[0])),
      [
        [5, 8],
        [4, 8],
        [4, 8],
      ],
      'and computes a 5–7 only, b 4–7, y 4–7',
    );
    assert.deepEqual(
      t1!.regions!.map(rows),
      [
        [3, 8],
        [4, 8],
        [4, 8],
      ],
      'its region of a is rows 3–7, as when recomputing',
    );
    const profile = planMemory(memory, [{ first: 0, tiling }]);
    assert.deepEqual(
      profile.stepBytes,
      [512, 1152, 1408, 1920, 1408, 896, 1152, 1536, 1664, 1152, 640, 512],
      'alloc; tile 0: conv1, keep, conv2, conv3, write; tile 1: conv1, cat, conv2, conv3, write, drop',
    );
    assert.equal(profile.peakBytes, 1920, 'peak: conv2 of tile 0 with the 256 B cache beside it');
    assert.equal(groupPeakBytes(memory, tiling, 0), 1920, 'the group evaluated alone');
    assert.equal(groupPeakByTiles(memory, tiling, 0, ['a', 'b']), 1920, 'the group evaluated tile by tile');
    const cost = groupCost(fitLatency(ctx, pi, modelFingerprint(model)), tiling, 0);
    assert.equal(cost.overheadFlops, 0, 'conv1 computes rows 0–4 and 5–7: each of its 8 rows once');
    const recompute = groupCost(fitLatency(ctx, pi, modelFingerprint(model)), tileGroup(ctx, 0, 2, { rows: 2, cols: 1 }), 0);
    // Caching saves conv1's halo (2 of its 10 computed rows: a quarter of its time) and copies 896 B inside the tiles:
    // tile 1's region of a (256 B cached + 384 B new) and tile 0's kept rows (256 B), read and written at 5 GB/s.
    const conv1Ms = wholeOpMs(pi, model, 0, modelFingerprint(model));
    const copy = (2 * 896) / (pi.memoryGBps! * 1e6);
    assert.ok(Math.abs(cost.latencyMs - (recompute.latencyMs - conv1Ms / 4 + copy)) < 1e-15, 'latency: the halo saved, the copies paid');
    assert.ok(copy > conv1Ms / 4, 'on this toy (conv1 reads one channel: 18 FLOPs per output element) the copies cost more');
  });

  it('halo caching: columns still recompute, the default search is unchanged, --halo cache adds cached groups', () => {
    const model = threeConvs();
    const { ctx } = fitContext(model);
    const conv1 = model.ops.find((op) => op.node.name === 'conv1')!.cost.flops;
    const conv2 = model.ops.find((op) => op.node.name === 'conv2')!.cost.flops;
    const latency = fitLatency(ctx, pi, modelFingerprint(model));
    const grid = { rows: 2, cols: 2 };
    const cached = groupCost(latency, tileGroupCached(ctx, 0, 2, grid), 0);
    const recomputed = groupCost(latency, tileGroup(ctx, 0, 2, grid), 0);
    // Columns 0–3 and 4–7 of y need b columns 0–3 / 4–7 and a columns 0–4 / 3–7: conv1 computes 10 of 8 columns.
    assert.equal(cached.overheadFlops, conv1 / 4, 'the column halo of conv1 only');
    assert.equal(recomputed.overheadFlops, conv1 / 4 + conv1 / 4 + conv1 / 16, "recomputing: rows and columns of conv1's halo");
    assert.ok(conv2 > 0, 'conv2 has no halo either way');
    const plain = fitModel(model, { limitBytes: 1, space: { maxGrid: 2, maxDepth: 3 } });
    const withCache = fitModel(model, { limitBytes: 1, space: { maxGrid: 2, maxDepth: 3, halo: 'cache' } });
    assert.equal(plain.halo, 'recompute', 'default: recompute');
    assert.ok(
      plain.front.every((e) => e.groups.every((g) => g.halo === 'recompute')),
      'no cached group by default',
    );
    const described = (front: typeof withCache.front) =>
      front.map((e) => [e.peakBytes, e.groups.map((g) => `${g.first}..${g.last} ${g.rows}x${g.cols} ${g.halo}`)]);
    assert.deepEqual(
      described(withCache.front),
      [
        [1168, ['conv1..conv3 2x2 recompute']],
        [1600, ['conv2..conv3 2x2 recompute']],
      ],
      "the cached 2×2 group (1328 B) is slower than recomputing: its copies cost more than conv1's halo (test above)",
    );
    const deeper = fitModel(randomConvStack(33), { limitBytes: 1, space: { maxGrid: 4, maxDepth: 4, halo: 'cache' } });
    assert.ok(
      deeper.front.some((e) => e.groups.some((g) => g.halo === 'cache')),
      'on a stack whose halos cost more to recompute than to copy, cached groups join the front',
    );
    assert.equal(fitPlanOf(withCache).halo, 'cache', 'the plan file says which halo modes were searched');
    assert.equal(fitPlanOf(plain).halo, 'recompute', 'and a default plan file says it recomputes');
    assert.ok(
      fitPlanOf(plain).groups.every((g) => !('halo' in g)),
      'its groups are as before',
    );
  });

  it('the fit picks the tiled group under a limit between its peak and the untiled peak', () => {
    const result = fitModel(threeConvs(), { limitBytes: 2000, space: { maxGrid: 2, maxDepth: 3 } });
    assert.equal(result.feasible, true, 'feasible');
    assert.equal(result.baselinePeakBytes, 2048, 'baseline');
    assert.ok(result.best!.peakBytes <= 2000, `peak ${result.best!.peakBytes} within the limit`);
    assert.ok(result.best!.groups.length >= 1, 'some group is tiled');
    assert.ok(result.best!.latencyMs >= result.baselineLatencyMs, 'tiles never run faster than the whole operators');
    const none = fitModel(threeConvs(), { limitBytes: 100, space: { maxGrid: 2, maxDepth: 3 } });
    assert.equal(none.feasible, false, 'a limit below the least peak is infeasible');
    assert.equal(none.best, null, 'no execution');
    assert.ok(none.leastPeak.peakBytes > 100, 'the least peak is reported');
  });

  it('tiny attention in 2 token chunks: the hand-computed steps of docs/memory.md ("Token chunks")', () => {
    const model = tinyAttention();
    const { ctx, memory } = fitContext(model);
    assert.deepEqual(ctx.order, ['q', 'k', 'kt', 's', 'p', 'v', 'o', 'y'], "BTSearch's order computes v after the softmax");
    assert.equal(memory.untiled.peakBytes, 576, 'untiled: x, s and p (64 + 256 + 256) while the softmax runs');
    const grid = { rows: 2, cols: 1, kind: 'tokens' as const };
    const tiling = tileGroup(ctx, 3, 7, grid);
    assert.deepEqual([...tiling.exits], [7], 'y, the graph output, is the only exit');
    assert.deepEqual(exitShare(ctx, 7, grid, 1, 0), [
      [0, 1],
      [4, 8],
      [0, 2],
    ]);
    const [first, second] = tiling.tiles.map((tile) => tile.slices.map((slice) => slice!.outputs[0]));
    assert.deepEqual(first![0], [
      [0, 1],
      [0, 4],
      [0, 8],
    ]);
    assert.deepEqual(second![2], [
      [0, 1],
      [0, 8],
      [0, 2],
    ]);
    const segments: Segment[] = [0, 1, 2].map((p) => ({ first: p, tiling: null }));
    segments.push({ first: 3, tiling });
    const profile = planMemory(memory, segments);
    assert.deepEqual(
      profile.stepBytes,
      [128, 192, 256, 256, 384, 512, 448, 480, 288, 288, 384, 384, 320, 352, 160, 96],
      'q, k, kt whole; alloc y; chunk 0 (s, p, v, o, y, write); chunk 1',
    );
    assert.equal(profile.peakBytes, 512, "peak: chunk 0's softmax");
    assert.equal(groupPeakBytes(memory, tiling, 3), 512, 'the group evaluated alone');
    assert.equal(groupPeakByTiles(memory, tiling, 3, ['a', 'b']), 512, 'the group evaluated chunk by chunk');
    const cost = groupCost(fitLatency(ctx, pi, modelFingerprint(model)), tiling, 3);
    const v = model.ops.find((op) => op.node.name === 'v')!.cost.flops;
    assert.equal(cost.overheadFlops, v, 'each chunk needs all of v: v is computed twice');
    assert.equal(cost.tiles, 2, 'two chunks');
    // Only the scores and the softmax: the whole softmax output is an exit, so chunking them is worse than not.
    assert.equal(groupPeakBytes(memory, tileGroup(ctx, 3, 4, grid), 3), 704, 'x, q, kt, whole p, s₀ and p₀');
  });

  it('tiny attention, kv-first order: k, kᵀ and v run before the group, which then recomputes nothing', () => {
    const model = tinyAttention();
    const { ctx } = fitContext(model);
    const order = kvFirstOrder(ctx)!;
    assert.deepEqual(order, ['v', 'k', 'kt', 'q', 's', 'p', 'o', 'y'], "v's and kᵀ's operators move before q");
    const other = partitionContext(model, order);
    const memory = fitMemory(other);
    assert.equal(memory.untiled.peakBytes, 640, 'untiled it is worse: v lives across the softmax');
    const tiling = tileGroup(other, 3, 7, { rows: 2, cols: 1, kind: 'tokens' });
    const segments: Segment[] = [0, 1, 2].map((p) => ({ first: p, tiling: null }));
    segments.push({ first: 3, tiling });
    assert.deepEqual(
      planMemory(memory, segments).stepBytes,
      [128, 192, 256, 256, 288, 416, 512, 416, 288, 288, 288, 416, 448, 352, 160, 96],
      'v, k, kt whole; alloc y; chunk 0 (q, s, p, o, y, write); chunk 1 (kt and q₁ die after s₁, v after o₁, x after y₁)',
    );
    const cost = groupCost(fitLatency(other, pi, modelFingerprint(model)), tiling, 3);
    assert.equal(cost.overheadFlops, 0, 'every chunk computes only its own rows');
    const result = fitModel(model, { limitBytes: 512, space: { maxGrid: 2, maxDepth: 5, maxChunks: 2 } });
    assert.deepEqual(result.space.orders, ['btsearch', 'kv-first'], 'both orders searched');
    assert.equal(result.best!.orderName, 'kv-first', 'at 512 B the kv-first group is the fastest');
    assert.equal(result.best!.overheadFlops, 0, 'without recompute');
    assert.equal(fitPlanOf(result).order.join(' '), order.join(' '), "the plan file holds the execution's order");
  });

  it('token chunks: only sequence models chunk; views may not be exits or read from before the group', () => {
    assert.deepEqual(spaceGrids(fitContext(threeConvs()).memory, { maxGrid: 2, maxDepth: 3 }).length, 3, 'a CNN uses 1×2, 2×1, 2×2');
    assert.deepEqual(fitModel(threeConvs(), { limitBytes: 2000 }).space.orders, ['btsearch'], 'a CNN searches the BTSearch order only');
    const { ctx, memory } = fitContext(tinyAttention());
    assert.deepEqual(
      spaceGrids(memory, { maxGrid: 2, maxDepth: 3, maxChunks: 4 }).map((g) => g.rows),
      [2, 3, 4],
      'a sequence model uses 2..maxChunks chunks',
    );
    assert.ok(tileablePositions(ctx).every(Boolean), 'every operator of the tiny attention has a tokens option');
    assert.equal(gridLimit(ctx, exitsOf(ctx, 3, 7), 3, 'tokens').rows, 8, 'y has 8 tokens');
    assert.ok(viewsFit(ctx, exitsOf(ctx, 3, 7), 3, 7), 'no views');
    const heads = fitContext(tinyHeads()).ctx;
    assert.deepEqual(heads.order, ['q', 'heads', 'split', 'softmax', 'merge', 'flat', 'y'], 'a chain');
    assert.ok(viewsFit(heads, exitsOf(heads, 0, 4), 0, 4), 'q .. merge: the heads view reads q, made in the group');
    assert.ok(!viewsFit(heads, exitsOf(heads, 1, 4), 1, 4), 'heads .. merge: the view reads q from before the group');
    assert.ok(!viewsFit(heads, exitsOf(heads, 0, 5), 0, 5), 'q .. flat: the flat view is the exit');
    assert.ok(viewsFit(heads, exitsOf(heads, 0, 6), 0, 6), 'q .. y: the flat view is read inside');
  });

  it('a chunk that reads one part of a Concat computes no other part and reads none', () => {
    const model = concatChunks();
    const { ctx, memory } = fitContext(model);
    assert.deepEqual(ctx.order, ['neg', 'cat', 't', 'y'], 'a chain');
    const tiling = tileGroup(ctx, 0, 2, { rows: 2, cols: 1, kind: 'tokens' });
    assert.equal(tiling.tiles[1]!.slices[0], null, 'chunk 1 (t rows 4..7 = x) computes no Neg');
    assert.equal(tiling.tiles[1]!.slices[1]!.inputs[0], null, 'and its Concat reads no Neg output');
    // x 64 held, whole t 128; chunk 0: neg₀ 64, cat₀ 64, t₀ 64; chunk 1: cat₁ 64 from x, t₁ 64.
    const peak = groupPeakBytes(memory, tiling, 0);
    assert.equal(peak, 64 + 128 + 64 + 64, 'x, the whole t, neg₀ and cat₀');
    assert.equal(groupPeakByTiles(memory, tiling, 0, ['a', 'b']), peak, 'tile by tile (falls back: a chunk skips an operator)');
    assert.equal(
      planMemory(memory, [
        { first: 0, tiling },
        { first: 3, tiling: null },
      ]).peakBytes,
      peak,
      'the whole plan',
    );
  });

  it('sizes: binary and decimal units, bad units refused in one line', () => {
    assert.equal(parseByteSize('256KiB'), 262144, 'KiB');
    assert.equal(parseByteSize('48MiB'), 48 * 2 ** 20, 'MiB');
    assert.equal(parseByteSize('1.5GiB'), 1.5 * 2 ** 30, 'GiB');
    assert.equal(parseByteSize('500kB'), 500_000, 'kB');
    assert.equal(parseByteSize('4096'), 4096, 'bytes');
    assert.throws(() => parseByteSize('12 parsecs'), /must be a size/, 'unknown unit');
    assert.throws(() => parseByteSize('-3MiB'), /must be a size/, 'negative');
  });
});

/** Every execution of the space by enumeration: each piece's peak from the whole tiled graph, latency summed. */
function bruteForceFront(model: ReturnType<typeof residualStack>, space: FitSpace) {
  const { ctx, memory } = fitContext(model);
  const latency = fitLatency(ctx, pi, modelFingerprint(model));
  const tileable = tileablePositions(ctx);
  const n = ctx.order.length;
  const points: Array<{ peak: number; ms: number }> = [];
  const walk = (p: number, segments: Segment[], ms: number) => {
    if (p === n) {
      points.push({ peak: planMemory(memory, segments).peakBytes, ms });
      return;
    }
    walk(p + 1, [...segments, { first: p, tiling: null }], ms + latency.opMs[p]!);
    for (let last = p; last < n && last - p < space.maxDepth && tileable.slice(p, last + 1).every(Boolean); last++) {
      const exits = exitsOf(ctx, p, last);
      for (const grid of spaceGrids(memory, space)) {
        const limit = gridLimit(ctx, exits, p, grid.kind);
        if (grid.rows > limit.rows || grid.cols > limit.cols) continue;
        if (grid.kind === 'tokens' && !viewsFit(ctx, exits, p, last)) continue;
        const tilings = [tileGroup(ctx, p, last, grid)];
        if (space.halo === 'cache' && grid.kind !== 'tokens' && grid.rows > 1) tilings.push(tileGroupCached(ctx, p, last, grid));
        for (const tiling of tilings) walk(last + 1, [...segments, { first: p, tiling }], ms + groupCost(latency, tiling, p).latencyMs);
      }
    }
  };
  walk(0, [], 0);
  points.sort((a, b) => a.peak - b.peak || a.ms - b.ms);
  const front: typeof points = [];
  for (const q of points) if (front.length === 0 || q.ms < front[front.length - 1]!.ms * (1 - 1e-12)) front.push(q);
  return { front, executions: points.length, ctx, memory, latency };
}

describe('fit: the search is exact over its space', () => {
  for (const [name, build] of [
    ['residual stack', residualStack],
    ['three convs', threeConvs],
    ['tiny attention (token chunks)', tinyAttention],
    ['concat chunks (token chunks)', concatChunks],
    ['tiny heads (token chunks with views)', tinyHeads],
  ] as const) {
    it(`${name}: the DP's Pareto front equals brute force over every execution`, () => {
      const space = { maxGrid: 2, maxDepth: 3, maxChunks: 3 };
      const brute = bruteForceFront(build(), space);
      const dp = paretoFront(brute.memory, brute.latency, space);
      assert.ok(brute.executions > 20, `${brute.executions} executions enumerated`);
      assert.deepEqual(
        dp.front.map((p) => p.peakBytes),
        brute.front.map((p) => p.peak),
        'same peaks on the front',
      );
      dp.front.forEach((p, i) => assert.ok(Math.abs(p.latencyMs - brute.front[i]!.ms) < 1e-9, `latency of front point ${i}`));
      for (const point of dp.front) {
        const whole = planMemory(
          brute.memory,
          point.segments.map((s) => s.segment),
        ).peakBytes;
        assert.equal(whole, point.peakBytes, 'the whole tiled graph has the peak the search added up');
      }
    });
  }

  for (const [name, build] of [
    ['residual stack', residualStack],
    ['three convs', threeConvs],
  ] as const) {
    it(`${name} with cached halos: the DP's Pareto front equals brute force over both halo modes of every group`, () => {
      const space: FitSpace = { maxGrid: 2, maxDepth: 3, halo: 'cache' };
      const brute = bruteForceFront(build(), space);
      const dp = paretoFront(brute.memory, brute.latency, space);
      assert.deepEqual(
        dp.front.map((p) => p.peakBytes),
        brute.front.map((p) => p.peak),
        'same peaks on the front',
      );
      dp.front.forEach((p, i) => assert.ok(Math.abs(p.latencyMs - brute.front[i]!.ms) < 1e-9, `latency of front point ${i}`));
      for (const point of dp.front)
        assert.equal(
          planMemory(
            brute.memory,
            point.segments.map((s) => s.segment),
          ).peakBytes,
          point.peakBytes,
          'the whole tiled graph agrees',
        );
    });
  }

  it('small CNN: every front point is within its peak under the whole tiled graph, and tiling lowers the peak', () => {
    const result = fitModel(smallCnn(), { limitBytes: 1, space: { maxGrid: 3, maxDepth: 4 } });
    assert.ok(result.leastPeak.peakBytes < result.baselinePeakBytes, 'tiling goes below the untiled peak');
    for (let i = 1; i < result.front.length; i++) {
      assert.ok(result.front[i]!.peakBytes > result.front[i - 1]!.peakBytes, 'peaks increase along the front');
      assert.ok(result.front[i]!.latencyMs < result.front[i - 1]!.latencyMs, 'latencies decrease along the front');
    }
    assert.ok(
      Math.abs(result.front[result.front.length - 1]!.latencyMs - result.baselineLatencyMs) < 1e-9,
      'the fastest is the untiled run',
    );
  });
});
