/**
 * MemoriaNova's public API: everything the command line does, as functions. Load a model (a built-in name or an
 * ONNX file), find its least-memory operator order (BTSearch), load a cluster, plan (GenEFlow and the baselines),
 * simulate, read and write plan files, run a plan on workers, and the one error type the library throws for bad input.
 */

import { disableOrtTelemetry } from './runtime/telemetry.ts';

disableOrtTelemetry();

export { VERSION } from './version.ts';
export { MemoriaNovaError, type ErrorCode } from './errors.ts';

// Models: the built-in zoo and ONNX files.
export { loadModel, loadGraph, isModelFile, type LoadOptions } from './model/load.ts';
export { modelFingerprint } from './model/fingerprint.ts';
export {
  analyzeGraph,
  bindingsFromFlags,
  parseDimBinding,
  parseInputBinding,
  type AnalyzeOptions,
  type ShapeBindings,
} from './analysis/analyze.ts';
export { summarize, type ModelSummary } from './analysis/summary.ts';
export { ZOO, zooEntry, type ZooBuildOptions, type ZooEntry } from './zoo/index.ts';
export { summarizeZoo, type ZooSummary } from './zoo/summary.ts';
export { exportZooModel, type ZooExport } from './zoo/export.ts';
export { readModelFile, readModelBytes } from './onnx/read.ts';
export { DEFAULT_IMPORT_LIMITS, type ImportLimits } from './onnx/limits.ts';
export { writeModelFile, writeModelBytes, type WriteOptions } from './onnx/write.ts';
export type { Graph, Model, AnalyzedOp, TensorInfo, OpCost } from './ir/graph.ts';

// Memory and operator order.
export { memoryGraphOf, weightBytesOf, type MemoryGraph, type MemoryGraphOptions } from './memory/graph.ts';
export { fusionGroups, type Fusion, type FusionGroup, type FusionRule } from './analysis/fusion.ts';
export { evaluateOrder, type MemoryOptions, type MemoryProfile } from './memory/model.ts';
export { planOrder, type OrderPlan, type OrderPlanOptions } from './ordering/plan.ts';
export { savedOrderOf, loadSavedOrder, type SavedOrder } from './ordering/saved.ts';

// Clusters.
export { loadCluster, parseCluster, validateCluster, loadProfile } from './cluster/load.ts';
export { PRESET_NAMES, presetCluster } from './cluster/presets.ts';
export { clusterYaml } from './cluster/yaml.ts';
export { deviceMemoryBytes, type Cluster, type Device, type Router, type DeviceProfile, type ExecutionOverheads } from './cluster/types.ts';

// Plans: the partition space, building, planning, files.
export { SPLIT_DIMS, type SplitDim, type Placement, type OpDecision } from './partition/types.ts';
export { PLAN_FORMAT, PLAN_VERSION, type Plan } from './plan/types.ts';
export { makePlan, singleDevicePlan, proportionalPlan, fastestDevice } from './plan/build.ts';
export { readPlan, writePlan, formatPlan, validatePlan } from './plan/io.ts';
export { BASELINES } from './baselines/index.ts';
export {
  runGeneflow,
  type GeneflowOptions,
  type GeneflowProgress,
  type GeneflowResult,
  type GeneflowHistoryEntry,
} from './geneflow/geneflow.ts';
export {
  runAllMethods,
  geneflowGain,
  deviceMemoryNeeds,
  type AllMethodsOptions,
  type AllMethodsResult,
  type DeviceMemoryNeed,
  type MethodResult,
} from './pipeline/methods.ts';
export { runPlanJob, type PlanJob, type PlanJobOptions } from './pipeline/plan-job.ts';
export { renderPlanReport, writePlanReport } from './report/plan-report.ts';

// Simulation.
export { simulate, createSimulator, type Simulator } from './simulate/simulate.ts';
export type { SimulationResult, SimulateOptions, DeviceBreakdown, LowerBound, MemoryViolation, TimelineEvent } from './simulate/types.ts';

// Running plans on workers.
export { runPlan, type RunPlanOptions, type RunReport, type WorkerReport } from './runtime/run.ts';
export { startWorker, type WorkerOptions, type RunningWorker } from './runtime/worker.ts';
export { writeBundle, type DeployOptions, type DeployResult } from './runtime/deploy.ts';
export { readBundleIndex, readDeviceBundle, type BundleIndex, type Manifest } from './runtime/manifest.ts';
export { loadDeviceBundle, type LoadedBundle } from './runtime/bundle.ts';
export { profileModel, type ProfileOptions, type ProfileResult } from './runtime/profile.ts';

// Fused tiling on one device (docs/fit.md).
export { fitModel, type FitOptions, type FitResult, type FitExecution, type FitGroup } from './fit/fit.ts';
export { paretoFront, DEFAULT_SPACE, type FitSpace, type FrontPoint } from './fit/search.ts';
export { runFit, runFitPlan, type FitRun, type FitPlanReport, type RunFitPlanOptions } from './fit/execute.ts';
export { fitPlanOf, loadFitPlan, readFitPlan, type FitPlanFile, type LoadedFitPlan } from './fit/plan.ts';
export { compileFitProgram } from './fit/program.ts';
export { parseByteSize } from './fit/size.ts';
