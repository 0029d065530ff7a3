import { z } from 'zod';

import { SegmentRulesSpec } from '../../domain/rfm/segments';

/**
 * RFM scores of the golden records from a linked events dataset. Its columns default to the
 * events dataset's own (date, amount, orderId); the fields written are listed in
 * RFM_FIELDS (domain/computed/rfm-fields.ts), each prefixed with `prefix`.
 */
export const RfmScoreConfig = z
  .object({
    link: z.string().min(1),
    date: z.string().min(1).optional(),
    amount: z.string().min(1).optional(),
    orderId: z.string().min(1).optional(),
    bins: z.number().int().min(2).max(100).default(6),
    /** A segments file (YAML, relative to the config file) or the rules inline. */
    segments: z.union([z.string().min(1), SegmentRulesSpec.shape.segments]).optional(),
    /** Segments as of earlier days, and the change between them. */
    history: z
      .object({
        lookbackDays: z.array(z.number().int().positive()).min(1).default([30, 90]),
        /** Only orders within this many days up to each scoring day count. */
        windowDays: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    prefix: z.string().default(''),
  })
  .strict();
export type RfmScoreConfig = z.infer<typeof RfmScoreConfig>;

export const ScoresConfig = z.object({ rfm: RfmScoreConfig.optional() }).strict();
export type ScoresConfig = z.infer<typeof ScoresConfig>;
