// A throughput trend in one line of block characters. Pure.

const bars = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/** Drawn for a sample that is missing (the node was down or had not answered yet). */
export const sparklineGap = ' ';

/**
 * The last `width` samples, scaled so the largest is a full block; zero is the
 * lowest bar, so an idle node still shows a baseline. Shorter histories are
 * padded on the left, so the newest sample is always at the right edge.
 */
export function sparkline(samples: readonly (number | null)[], width: number): string {
  if (width <= 0) return '';
  const shown = samples.slice(-width);
  const peak = Math.max(0, ...shown.map((sample) => sample ?? 0));
  const cells = shown.map((sample) => (sample === null ? sparklineGap : bars[barIndex(sample, peak)]));
  return sparklineGap.repeat(width - cells.length) + cells.join('');
}

function barIndex(sample: number, peak: number): number {
  if (peak <= 0 || sample <= 0) return 0;
  return Math.min(bars.length - 1, Math.max(1, Math.round((sample / peak) * (bars.length - 1))));
}
