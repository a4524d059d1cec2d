/**
 * Plain rows for reports (numbers only; formatting and printing belong to the caller).
 */
import type { DavisSequenceResult, DavisSummary } from './davis';
import type { KnnReport } from './knn';
import type { LinearProbeResult } from './linear-train';
import type { AttentionSegmentationResult } from './attention-segmentation';

export interface KnnRow {
  k: number;
  T: number;
  top1: number;
  top5: number | null;
}

/** One row per k. */
export function knnTable(report: KnnReport): KnnRow[] {
  return report.results.map((r) => ({ k: r.k, T: report.T, top1: r.top1, top5: r.top5 }));
}

export interface LinearRow {
  epochs: number;
  top1: number | null;
  top5: number | null;
  bestTop1: number | null;
  finalLoss: number;
}

export function linearTable(result: LinearProbeResult): LinearRow {
  const last = result.history[result.history.length - 1];
  return { epochs: result.history.length, top1: result.top1, top5: result.top5, bestTop1: result.bestTop1, finalLoss: last?.loss ?? NaN };
}

export interface JaccardRow {
  /** 'head0', 'head1', ..., 'mean-of-heads', 'best-head'. */
  map: string;
  jaccard: number;
}

export function jaccardTable(result: AttentionSegmentationResult): JaccardRow[] {
  return [
    ...result.perHead.map((j, k) => ({ map: `head${k}`, jaccard: j })),
    { map: 'mean-of-heads', jaccard: result.meanHeads },
    { map: 'best-head', jaccard: result.bestHeadJaccard },
  ];
}

export interface DavisRow {
  sequence: string;
  object: number;
  JMean: number;
  JRecall: number;
  JDecay: number;
  FMean: number;
  FRecall: number;
  FDecay: number;
}

/** One row per object of every sequence. */
export function davisObjectTable(sequences: DavisSequenceResult[]): DavisRow[] {
  return sequences.flatMap((s) =>
    s.objects.map((o) => ({
      sequence: s.name, object: o.id,
      JMean: o.JStats.mean, JRecall: o.JStats.recall, JDecay: o.JStats.decay,
      FMean: o.FStats.mean, FRecall: o.FStats.recall, FDecay: o.FStats.decay,
    })),
  );
}

/** The global measures of davisSummary as [metric, value] rows. */
export function davisTable(summary: DavisSummary): { metric: string; value: number }[] {
  const keys = ['J&F-Mean', 'J-Mean', 'J-Recall', 'J-Decay', 'F-Mean', 'F-Recall', 'F-Decay'] as const;
  return keys.map((metric) => ({ metric, value: summary[metric] }));
}
