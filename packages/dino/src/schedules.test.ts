import { it, expect, describe } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@dino-ts/core';
import { readFixture } from '@dino-ts/core/testing';
import { cosineScheduler, linspace, scheduleAt } from './schedules';
import { teacherTempSchedule } from './loss';

const { metadata } = readFixture(fileURLToPath(new URL('../fixtures/schedules.safetensors', import.meta.url)));

function expectSame(actual: Float64Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    // float64 on both sides; only Math.cos vs libm cos may differ in the last bit
    expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(expected[i])));
  }
}

describe('schedules vs reference', () => {
  for (const key of Object.keys(metadata).filter((k) => k.startsWith('cosine.'))) {
    it(`utils.cosine_scheduler ${key}`, () => {
      const { args, values } = JSON.parse(metadata[key]);
      const s = cosineScheduler(args.base_value, args.final_value, args.epochs, args.niter_per_ep, args.warmup_epochs ?? 0, args.start_warmup_value ?? 0);
      expectSame(s, values);
    });
  }
  for (const key of Object.keys(metadata).filter((k) => k.startsWith('teacher_temp.'))) {
    it(`DINOLoss.teacher_temp_schedule ${key}`, () => {
      const { args, values } = JSON.parse(metadata[key]);
      expectSame(teacherTempSchedule(args.warmup_teacher_temp, args.teacher_temp, args.warmup_teacher_temp_epochs, args.nepochs), values);
    });
  }
});

it('linspace follows numpy for 0, 1 and n points', () => {
  expect(linspace(0, 1, 0).length).toBe(0);
  expect([...linspace(2, 5, 1)]).toEqual([2]);
  const l = linspace(0.04, 0.07, 30);
  expect(l[0]).toBe(0.04);
  expect(l[29]).toBe(0.07);
});

it('validates schedule arguments and indices', () => {
  expect(() => cosineScheduler(1, 0, 0, 10)).toThrow(ConfigError);
  expect(() => cosineScheduler(1, 0, 5, 10, 6)).toThrow(/warmupEpochs/);
  expect(() => teacherTempSchedule(0.04, 0, 0, 10)).toThrow(/teacherTemp/);
  expect(() => teacherTempSchedule(0.04, 0.07, 11, 10)).toThrow(/warmupTeacherTempEpochs/);
  expect(() => scheduleAt(new Float64Array(3), 3, 'iteration')).toThrow(/iteration/);
});
