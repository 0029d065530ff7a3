import type { RfmScoreConfig } from '../../config/datasets/scores';
import { ConfigError } from '../../connectors/errors';
import {
  buildSegmentGrid,
  DEFAULT_SEGMENT_GRID,
  parseSegmentsFile,
  type SegmentGrid,
} from '../rfm/segments';

/**
 * The segment grid of a dataset's RFM settings: inline rules, a YAML file of rules (read with
 * `readFile` at each prepare, so an edit takes effect at the next run), or the built-in 6×6
 * grid. Also returns the rules' text, which joins the preparation hash so a grid change
 * rescores everyone.
 */
export function rfmGrid(
  rfm: RfmScoreConfig,
  where: string,
  readFile: (file: string) => string,
): { grid: SegmentGrid; source: string } {
  if (rfm.segments === undefined) {
    if (rfm.bins !== DEFAULT_SEGMENT_GRID.bins) {
      throw new ConfigError(
        `${where}.segments: the built-in segments are for 6 bins; give segments for ${rfm.bins}`,
      );
    }
    return { grid: DEFAULT_SEGMENT_GRID, source: 'default' };
  }
  if (typeof rfm.segments !== 'string') {
    return {
      grid: buildSegmentGrid(rfm.segments, rfm.bins, `${where}.segments`),
      source: JSON.stringify(rfm.segments),
    };
  }
  let text: string;
  try {
    text = readFile(rfm.segments);
  } catch (error) {
    throw new ConfigError(`${where}.segments: cannot read ${rfm.segments}`, error);
  }
  return {
    grid: buildSegmentGrid(parseSegmentsFile(text, rfm.segments), rfm.bins, rfm.segments),
    source: text,
  };
}
