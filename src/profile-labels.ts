// The labels a sample's label set gets when a profile is built. Label sets are
// fixed when code enters them, but some labels are only known later (an HTTP
// request's route, known once its router matched, labelprof/otel): a rewrite
// registered here completes them when the profile is built. Without one, the
// labels go into the profile as they are.
import type { Labels } from './label-sets';

type LabelRewrite = (labels: Labels) => Labels;
const rewrites: LabelRewrite[] = [];

export function registerLabelRewrite(rewrite: LabelRewrite): void {
  if (!rewrites.includes(rewrite)) rewrites.push(rewrite);
}

/** The labels to write for a sample whose label set has `labels`. */
export function labelsForProfile(labels: Labels): Labels {
  let out = labels;
  for (const rewrite of rewrites) out = rewrite(out);
  return out;
}
