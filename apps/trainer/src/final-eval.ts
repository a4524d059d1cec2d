/**
 * The end of a training run: the two emerging properties measured on the teacher and on a
 * randomly initialised network of the same architecture, side by side, then the report.
 */
import type { DinoTrainer } from '@dino-ts/dino';
import type { TrainConfig } from './config';
import type { OpenedData } from './datasets';
import type { BackendInfo } from './backend';
import type { ComparisonRow, MetricRow, ReportInput } from './report';
import { writeReport } from './report';
import { backboneFor } from './model';
import { hasSelfAttention } from '@dino-ts/eval';
import { frozenFeatures, knnEval, linearEval, jaccardEval, videoEval, attentionGalleryPng, neighboursPng, pcaGalleryPng } from './evaluations';
import { versions } from './versions';
import { writeFileAtomic } from './atomic';
import { join } from 'node:path';

export interface FinalEvalInput {
  trainer: DinoTrainer;
  data: OpenedData;
  config: TrainConfig;
  backend: BackendInfo;
  history: MetricRow[];
  out: string;
  timing: { wallSeconds: number; trainSeconds: number; imagesSeen: number };
  log: (line: string) => void;
}

export async function finalEvaluation(input: FinalEvalInput): Promise<string> {
  const { trainer, data, config: c, log } = input;
  const teacher = trainer.teacher.backbone;
  // The baseline: the same architecture, freshly initialised (the student's initial weights).
  const random = backboneFor({ config: c }, data.channels, c.globalCropsSize ?? data.imageSize, c.seed);
  const t0 = Date.now();
  const rows: ComparisonRow[] = [];
  const results: Record<string, unknown> = {};
  const both = async <T>(label: string, f: (b: typeof teacher) => Promise<T>): Promise<[T, T]> => {
    log(`Evaluating ${label} (trained, then random init)...`);
    return [await f(teacher), await f(random)];
  };
  try {
    const [ft, fr] = await both('frozen features', (b) => frozenFeatures(b, data, c.seed));
    const kt = await knnEval(ft, data, [c.knnK], c.knnT), kr = await knnEval(fr, data, [c.knnK], c.knnT);
    const top = (r: typeof kt) => r.results[0].top1 / 100;
    rows.push({ measure: `k-NN top-1 (k=${c.knnK}, T=${c.knnT})`, trained: top(kt), random: top(kr), unit: 'percent', note: `${ft.bank.length} train images as memory bank, ${data.test.length} held-out` });
    results.knn = { trained: kt.results, random: kr.results };

    log('Training the linear probes...');
    const lt = await linearEval(ft, data, c.seed), lr = await linearEval(fr, data, c.seed);
    rows.push({ measure: 'linear probe top-1', trained: (lt.bestTop1 ?? 0) / 100, random: (lr.bestTop1 ?? 0) / 100, unit: 'percent', note: 'frozen CLS of the last blocks, one linear layer, SGD momentum 0.9, cosine schedule (best epoch)' });
    results.linear = { trained: { top1: lt.top1, bestTop1: lt.bestTop1 }, random: { top1: lr.top1, bestTop1: lr.bestTop1 } };

    // Attention maps need self-attention (a ViT); a convnet backbone has k-NN, the linear probe
    // and label propagation (its feature map stands in for the patch tokens).
    const attention = hasSelfAttention(teacher);
    if (data.hasMasks && attention) {
      const [jt, jr] = await both('attention masks', (b) => jaccardEval(b, data));
      rows.push({ measure: 'attention Jaccard, best head', trained: jt.bestHeadJaccard, random: jr.bestHeadJaccard, unit: 'percent', note: `last-block CLS attention, 60% mass, vs object masks; head ${jt.bestHead} (trained), ${jr.bestHead} (random)` });
      rows.push({ measure: 'attention Jaccard, mean of heads', trained: jt.meanHeads, random: jr.meanHeads, unit: 'percent', note: 'mask of the head-averaged attention map' });
      results.jaccard = { trained: { perHead: jt.perHead, meanHeads: jt.meanHeads, bestHead: jt.bestHead }, random: { perHead: jr.perHead, meanHeads: jr.meanHeads, bestHead: jr.bestHead } };
    }
    if (data.hasMasks && data.channels === 3 && c.dataset === 'shapes') {
      const [vt, vr] = await both('video label propagation', (b) => videoEval(b, data, c));
      rows.push({ measure: 'video segmentation J&F mean', trained: vt['J&F-Mean'], random: vr['J&F-Mean'], unit: 'percent', note: 'moving shapes, label propagation (top-5, T 0.1, 7 context frames, neighbourhood 12)' });
      results.video = { trained: vt, random: vr };
    }
    const pictures: ReportInput['pictures'] = [];
    if (attention) {
      pictures.push(
        { name: 'Attention of the trained teacher', file: 'attention.png', caption: 'per row: input, head-mean attention, each head; then the 60%-mass masks (head mean, each head)', png: await attentionGalleryPng(teacher, data) },
        { name: 'Attention of the random-init network', file: 'attention-random.png', caption: 'the same images through the untrained network of the same architecture', png: await attentionGalleryPng(random, data) },
        { name: 'Principal components of the patch features', file: 'pca.png', caption: "per row: input, then its patch features' first three principal components as RGB, trained teacher then random init (the random network is the teacher's own starting point: where the two maps look alike, training has not yet moved the patch features, only the CLS token)", png: await pcaGalleryPng([teacher, random], data) },
      );
    }
    pictures.push(
      { name: 'Nearest neighbours (trained teacher)', file: 'neighbours.png', caption: 'first column: held-out query; then its nearest training images by cosine similarity (green: same class, red: other)', png: await neighboursPng(data, ft.bank, kt.neighbors!) },
      { name: 'Nearest neighbours (random init)', file: 'neighbours-random.png', caption: 'the same queries with the untrained network', png: await neighboursPng(data, fr.bank, kr.neighbors!) },
    );
    log(`Evaluation took ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
    for (const r of rows) log(`  ${r.measure}: trained ${(100 * r.trained).toFixed(1)}%, random ${(100 * r.random).toFixed(1)}%`);
    writeFileAtomic(join(input.out, 'evaluation.json'), JSON.stringify({ comparison: rows, results }, null, 2) + '\n');
    return await writeReport(input.out, {
      title: `DINO on ${data.train.name}: ${c.arch} (${c.embedDim}d x ${c.depth}, patch ${c.patchSize})`,
      metrics: input.history.map((r) => r),
      outDim: c.outDim,
      comparison: rows,
      pictures,
      config: c as unknown as Record<string, unknown>,
      backend: input.backend,
      timing: input.timing,
      versions: versions(input.backend),
      notes: [
        attention
          ? 'Emerging property 1 (segmentation): the CLS attention of the last block of the self-supervised teacher concentrates on the object; its 60%-mass mask is compared with the true object mask (Jaccard).'
          : `Emerging property 1 (segmentation) is read from a ViT's CLS attention; ${c.arch} is a convnet, so this run has no attention maps (label propagation still uses its feature map).`,
        'Emerging property 2 (k-NN): the frozen teacher features classify held-out images by a weighted vote of their nearest training images, without any label used in training.',
      ],
    });
  } finally {
    random.dispose();
  }
}
