import { describe, it, expect } from 'vitest';
import { collapseSign } from './collapse';

describe('collapseSign', () => {
  const lnK = Math.log(256);
  it('reads a dominant prototype from a teacher entropy near 0', () => {
    expect(collapseSign({ teacherEntropy: 0.01 * lnK, kl: 2, loss: 2 }, 256)).toBe('dominant');
  });
  it('reads uniform targets from a teacher entropy near ln K', () => {
    // Measured in a collapsing shapes run: teacher entropy 5.34 with K 256 (ln K 5.55).
    expect(collapseSign({ teacherEntropy: 5.34, kl: 0.16, loss: 5.5 }, 256)).toBe('uniform');
  });
  it('reads uniform collapse from the loss at ln K with the KL at 0', () => {
    expect(collapseSign({ teacherEntropy: 0.9 * lnK, kl: 1e-4, loss: 0.97 * lnK }, 256)).toBe('uniform');
  });
  it('says nothing for a healthy step', () => {
    expect(collapseSign({ teacherEntropy: 3.6, kl: 1.2, loss: 4.8 }, 256)).toBeNull();
    expect(collapseSign({ teacherEntropy: 0.5 * lnK, kl: 1e-4, loss: 0.5 * lnK }, 256)).toBeNull();
  });
});
