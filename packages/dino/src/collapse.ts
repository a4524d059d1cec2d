/**
 * Signs of the two collapses of the DINO paper (section 5.3, figure 7), read from one step's
 * metrics. Centering alone drives the teacher toward the uniform distribution (its entropy
 * rises to ln K, and the student follows, so the KL falls to 0); sharpening alone lets one
 * prototype dominate (the teacher's entropy falls to 0). Either way the targets no longer tell
 * images apart.
 */
export type CollapseKind = 'dominant' | 'uniform';

/** Fraction of ln K under which the teacher's entropy counts as one prototype dominating. */
export const DOMINANT_ENTROPY = 0.02;
/** Fraction of ln K above which the teacher's own entropy counts as uniform targets. */
export const UNIFORM_ENTROPY = 0.95;

export function collapseSign(m: { teacherEntropy: number; kl: number; loss: number }, outDim: number): CollapseKind | null {
  const lnK = Math.log(outDim);
  if (m.teacherEntropy < DOMINANT_ENTROPY * lnK) return 'dominant';
  // Uniform: either the teacher's targets themselves, or the loss at ln K with nothing left to
  // learn between student and teacher.
  if (m.teacherEntropy > UNIFORM_ENTROPY * lnK || (m.kl < 1e-3 && m.loss > UNIFORM_ENTROPY * lnK)) return 'uniform';
  return null;
}

export function describeCollapse(kind: CollapseKind): string {
  return kind === 'dominant'
    ? 'one prototype dominates the teacher (its entropy is near 0)'
    : 'the teacher output is near uniform (its entropy is near ln K, so the targets no longer tell images apart)';
}
