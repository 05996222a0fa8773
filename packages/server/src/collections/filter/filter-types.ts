import { z } from 'zod';
import { validateFilter } from './validate-filter.ts';

export type Scalar = string | number | boolean | null;
/** A value: a constant, a subscription param, or a JWT claim. */
export type ValueRef = Scalar | { value: Scalar } | { param: string } | { claim: string };
export type Filter =
  | { eq: [column: string, value: ValueRef] }
  | { neq: [column: string, value: ValueRef] }
  | { lt: [column: string, value: ValueRef] }
  | { lte: [column: string, value: ValueRef] }
  | { gt: [column: string, value: ValueRef] }
  | { gte: [column: string, value: ValueRef] }
  /** The `{ param }` form takes the whole list from one array-valued param. */
  | { in: [column: string, values: ValueRef[] | { param: string }] }
  | { isNull: string }
  | { and: Filter[] }
  | { or: Filter[] }
  | { not: Filter };

export { COMPARISON_OPS, FILTER_LIMITS, type ComparisonOp } from './validate-filter.ts';

/**
 * Validates the filter shape. Implemented as one hand-written pass inside zod rather than a
 * recursive z.union: union failures produce unreadable messages, and the pass stops at the depth
 * limit instead of recursing into arbitrarily deep input.
 */
export const filterSchema: z.ZodType<Filter, z.ZodTypeDef, unknown> = z
  .unknown()
  .superRefine((input, ctx) => {
    for (const issue of validateFilter(input)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: issue.message, path: issue.path });
    }
  })
  .transform((input) => input as Filter);
