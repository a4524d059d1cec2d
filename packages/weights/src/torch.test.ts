// Files written by writePth, read by PyTorch itself: torch.load(weights_only=True) and strict
// load_state_dict into the reference's modules (scripts/fixtures/make_weights.py --check).
//
// Needs Debian's python3-torch and DINO_REF (a facebookresearch/dino checkout), as the fixture
// scripts do; without them this file is skipped with a note (CI has neither). Everything else
// about the writer is tested from the committed fixtures in pth.test.ts.
import { it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { paramsToArrays } from '@dino-ts/core';
import { describeBackends } from '@dino-ts/core/testing';
import { loadVisionTransformer, readPth, writePth, type PickleDict } from './index';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../../../scripts/fixtures/make_weights.py', import.meta.url));
const fixture = (name: string) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))));

function torchAvailable(): string | undefined {
  const ref = process.env.DINO_REF;
  if (!ref || !existsSync(join(ref, 'vision_transformer.py'))) return 'DINO_REF is not set to a facebookresearch/dino checkout';
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'python3-torch is not installed';
}

const missing = torchAvailable();
if (missing) console.log(`torch.test.ts skipped: ${missing} (PyTorch reads writePth's files only where it is installed)`);

describeBackends(
  'writePth files in PyTorch',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'dino-ts-weights-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.skipIf(missing !== undefined)('load with weights_only=True and strictly into the reference modules, with the same outputs', async () => {
      // A backbone as dino-ts holds it (the parameters of a loaded ViT), written as a state dict.
      const vit = loadVisionTransformer(fixture('vit.pth'));
      writeFileSync(join(dir, 'backbone.pth'), writePth(await paramsToArrays(vit.params())));
      vit.dispose();
      // A whole reference training checkpoint, read and written back (args become a dict).
      const checkpoint = readPth(fixture('checkpoint.pth')).value as PickleDict;
      writeFileSync(join(dir, 'checkpoint.pth'), writePth(checkpoint));
      writeFileSync(join(dir, 'teacher.pth'), writePth(checkpoint.get('teacher')!, { archiveName: 'teacher' }));

      const r = spawnSync(PYTHON, [SCRIPT, '--check', dir], { encoding: 'utf8', env: process.env, timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
      console.log(`PyTorch ${result.torch} read writePth's files: ${JSON.stringify(result)}`);
      expect(result.backbone.cls).toBeLessThan(1e-5);
      expect(result.backbone.attention).toBeLessThan(1e-5);
      expect(result.checkpoint.epoch).toBe(1);
      for (const net of ['teacher', 'student']) {
        expect(result.checkpoint[net].cls).toBe(0);
        expect(result.checkpoint[net].attention).toBe(0);
      }
      expect(result.teacher_weights_only).toBe(true);
    });
  },
  ['cpu'],
);
