/**
 * @dino-ts/trainer: the reference DINO trainer as a library (the `dino` command is `src/cli.ts`).
 */
export { main, buildProgram } from './cli';
export { runTrain, EXIT, type TrainOptions, type TrainResult } from './train';
export { trainerConfig } from './trainer-config';
export { augmentation, iterationRng, type AugmentationData } from './augmentation';
export { SETTINGS, SETTING_GROUPS, PRESETS, nest, resolveConfig, readConfigFile, camel, type TrainConfig, type NestedConfig } from './config';
export { openDatasets, type OpenedData } from './datasets';
export { selectBackend, BACKEND_CHOICES, BackendUnavailableError, type BackendChoice, type BackendInfo } from './backend';
export { probeWebgpu, activeWebgpuAdapter, backendReport, nvidiaStatus, type AdapterSummary, type WebgpuStatus } from './gpu-backends';
export { saveCheckpoint, readCheckpoint, hasCheckpoint, type RunState } from './checkpoint';
export { writeReport, type ReportInput } from './report';
export { lineChartSvg, svgToPng } from './charts';
