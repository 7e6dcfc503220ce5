import { GraphBuilder } from '../ir/builder.ts';
import type { Graph } from '../ir/graph.ts';
import { cnnEntry } from './entry.ts';
import { basicConv } from './googlenet.ts';
import { avgPool, classifierOutput, gemm, maxPool, poolAndFlatten } from './layers.ts';

function concat(b: GraphBuilder, prefix: string, parts: string[]): string {
  return b.op('Concat', parts, { axis: 1 }, `${prefix}.concat`);
}

function poolBranch(b: GraphBuilder, prefix: string, x: string, cin: number, cout: number): string {
  const pooled = avgPool(b, `${prefix}.avg_pool`, x, { kernel: 3, stride: 1, pad: 1 });
  return basicConv(b, `${prefix}.branch_pool`, pooled, cin, cout, 1);
}

function inceptionA(b: GraphBuilder, p: string, x: string, cin: number, poolFeatures: number): string {
  const b1 = basicConv(b, `${p}.branch1x1`, x, cin, 64, 1);
  const b5 = basicConv(b, `${p}.branch5x5_2`, basicConv(b, `${p}.branch5x5_1`, x, cin, 48, 1), 48, 64, 5, { pad: 2 });
  let b3 = basicConv(b, `${p}.branch3x3dbl_1`, x, cin, 64, 1);
  b3 = basicConv(b, `${p}.branch3x3dbl_2`, b3, 64, 96, 3, { pad: 1 });
  b3 = basicConv(b, `${p}.branch3x3dbl_3`, b3, 96, 96, 3, { pad: 1 });
  return concat(b, p, [b1, b5, b3, poolBranch(b, p, x, cin, poolFeatures)]);
}

function inceptionB(b: GraphBuilder, p: string, x: string, cin: number): string {
  const b3 = basicConv(b, `${p}.branch3x3`, x, cin, 384, 3, { stride: 2 });
  let bd = basicConv(b, `${p}.branch3x3dbl_1`, x, cin, 64, 1);
  bd = basicConv(b, `${p}.branch3x3dbl_2`, bd, 64, 96, 3, { pad: 1 });
  bd = basicConv(b, `${p}.branch3x3dbl_3`, bd, 96, 96, 3, { stride: 2 });
  const pooled = maxPool(b, `${p}.max_pool`, x, { kernel: 3, stride: 2 });
  return concat(b, p, [b3, bd, pooled]);
}

function inceptionC(b: GraphBuilder, p: string, x: string, cin: number, c7: number): string {
  const b1 = basicConv(b, `${p}.branch1x1`, x, cin, 192, 1);
  let b7 = basicConv(b, `${p}.branch7x7_1`, x, cin, c7, 1);
  b7 = basicConv(b, `${p}.branch7x7_2`, b7, c7, c7, [1, 7], { pad: [0, 3] });
  b7 = basicConv(b, `${p}.branch7x7_3`, b7, c7, 192, [7, 1], { pad: [3, 0] });
  let bd = basicConv(b, `${p}.branch7x7dbl_1`, x, cin, c7, 1);
  bd = basicConv(b, `${p}.branch7x7dbl_2`, bd, c7, c7, [7, 1], { pad: [3, 0] });
  bd = basicConv(b, `${p}.branch7x7dbl_3`, bd, c7, c7, [1, 7], { pad: [0, 3] });
  bd = basicConv(b, `${p}.branch7x7dbl_4`, bd, c7, c7, [7, 1], { pad: [3, 0] });
  bd = basicConv(b, `${p}.branch7x7dbl_5`, bd, c7, 192, [1, 7], { pad: [0, 3] });
  return concat(b, p, [b1, b7, bd, poolBranch(b, p, x, cin, 192)]);
}

function inceptionD(b: GraphBuilder, p: string, x: string, cin: number): string {
  const b3 = basicConv(b, `${p}.branch3x3_2`, basicConv(b, `${p}.branch3x3_1`, x, cin, 192, 1), 192, 320, 3, { stride: 2 });
  let b7 = basicConv(b, `${p}.branch7x7x3_1`, x, cin, 192, 1);
  b7 = basicConv(b, `${p}.branch7x7x3_2`, b7, 192, 192, [1, 7], { pad: [0, 3] });
  b7 = basicConv(b, `${p}.branch7x7x3_3`, b7, 192, 192, [7, 1], { pad: [3, 0] });
  b7 = basicConv(b, `${p}.branch7x7x3_4`, b7, 192, 192, 3, { stride: 2 });
  const pooled = maxPool(b, `${p}.max_pool`, x, { kernel: 3, stride: 2 });
  return concat(b, p, [b3, b7, pooled]);
}

/** The 3×3 → (1×3 ‖ 3×1) fork InceptionE uses twice. */
function splitPair(b: GraphBuilder, p: string, x: string, names: [string, string]): string {
  const left = basicConv(b, `${p}.${names[0]}`, x, 384, 384, [1, 3], { pad: [0, 1] });
  const right = basicConv(b, `${p}.${names[1]}`, x, 384, 384, [3, 1], { pad: [1, 0] });
  return b.op('Concat', [left, right], { axis: 1 }, `${p}.${names[0]}_concat`);
}

function inceptionE(b: GraphBuilder, p: string, x: string, cin: number): string {
  const b1 = basicConv(b, `${p}.branch1x1`, x, cin, 320, 1);
  const b3 = splitPair(b, p, basicConv(b, `${p}.branch3x3_1`, x, cin, 384, 1), ['branch3x3_2a', 'branch3x3_2b']);
  let bd = basicConv(b, `${p}.branch3x3dbl_1`, x, cin, 448, 1);
  bd = basicConv(b, `${p}.branch3x3dbl_2`, bd, 448, 384, 3, { pad: 1 });
  bd = splitPair(b, p, bd, ['branch3x3dbl_3a', 'branch3x3dbl_3b']);
  return concat(b, p, [b1, b3, bd, poolBranch(b, p, x, cin, 192)]);
}

export function buildInceptionV3(batch: number): Graph {
  const b = new GraphBuilder('inceptionv3');
  let x = b.input('input', 'float32', [batch, 3, 299, 299]);
  x = basicConv(b, 'Conv2d_1a_3x3', x, 3, 32, 3, { stride: 2 });
  x = basicConv(b, 'Conv2d_2a_3x3', x, 32, 32, 3);
  x = basicConv(b, 'Conv2d_2b_3x3', x, 32, 64, 3, { pad: 1 });
  x = maxPool(b, 'maxpool1', x, { kernel: 3, stride: 2 });
  x = basicConv(b, 'Conv2d_3b_1x1', x, 64, 80, 1);
  x = basicConv(b, 'Conv2d_4a_3x3', x, 80, 192, 3);
  x = maxPool(b, 'maxpool2', x, { kernel: 3, stride: 2 });
  x = inceptionA(b, 'Mixed_5b', x, 192, 32);
  x = inceptionA(b, 'Mixed_5c', x, 256, 64);
  x = inceptionA(b, 'Mixed_5d', x, 288, 64);
  x = inceptionB(b, 'Mixed_6a', x, 288);
  x = inceptionC(b, 'Mixed_6b', x, 768, 128);
  x = inceptionC(b, 'Mixed_6c', x, 768, 160);
  x = inceptionC(b, 'Mixed_6d', x, 768, 160);
  x = inceptionC(b, 'Mixed_6e', x, 768, 192);
  x = inceptionD(b, 'Mixed_7a', x, 768);
  x = inceptionE(b, 'Mixed_7b', x, 1280);
  x = inceptionE(b, 'Mixed_7c', x, 2048);
  const logits = gemm(b, 'fc', poolAndFlatten(b, x), 2048, 1000);
  classifierOutput(b, logits, batch, 1000);
  return b.build();
}

export const inceptionv3 = cnnEntry(
  {
    name: 'inceptionv3',
    title: 'Inception v3',
    source: 'torchvision.models.inception_v3 (aux_logits=False, transform_input=False), 299×299',
    publishedParams: 23_834_568,
    image: [3, 299, 299],
  },
  buildInceptionV3,
);
