import { z } from 'zod';
import { broadcastSchema, presenceLeaveSchema, presenceSetSchema } from './presence.ts';

/** Client-chosen subscription id: short, printable, no surprises in logs or keys. */
export const subscriptionIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'subscription id may use letters, digits and _ . : -');

/** Subscription params: flat map of scalars; values are bound, never spliced into SQL. */
const scalarParamSchema = z.union([z.string().max(1024), z.number().finite(), z.boolean(), z.null()]);
/** A param is a scalar, or a list of at most 1000 scalars (for `in` filters). */
export const paramValueSchema = z.union([scalarParamSchema, z.array(scalarParamSchema).max(1000)]);
export const paramsSchema = z.record(z.string().max(128), paramValueSchema).refine((p) => Object.keys(p).length <= 32, {
  message: 'at most 32 params',
});

export const subscriptionSchema = z
  .object({
    id: subscriptionIdSchema,
    collection: z.string().min(1).max(128),
    params: paramsSchema.optional(),
    cursor: z.string().max(128).optional(),
  })
  .strict();

export type Subscription = z.infer<typeof subscriptionSchema>;

export const subscribeRequestSchema = z
  .object({ connectionId: z.string().min(1).max(128), subscription: subscriptionSchema })
  .strict();
export type SubscribeRequest = z.infer<typeof subscribeRequestSchema>;

export const unsubscribeRequestSchema = z
  .object({ connectionId: z.string().min(1).max(128), id: subscriptionIdSchema })
  .strict();
export type UnsubscribeRequest = z.infer<typeof unsubscribeRequestSchema>;

/** Client ids are generated once by the client and kept; bounded so they stay cheap to index. */
export const clientIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.:-]+$/);

/** WebSocket client → server frames (PROTOCOL.md). Unknown `type`s are BAD_REQUEST. */
export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('SUBSCRIBE'), subscription: subscriptionSchema }).strict(),
  z.object({ type: z.literal('UNSUBSCRIBE'), id: subscriptionIdSchema }).strict(),
  z.object({ type: z.literal('UNSUBSCRIBE_ALL') }).strict(),
  z.object({ type: z.literal('PING') }).strict(),
  z.object({ type: z.literal('TOKEN_REFRESH'), token: z.string().min(1).max(8192) }).strict(),
  presenceSetSchema.extend({ type: z.literal('PRESENCE_SET') }).strict(),
  presenceLeaveSchema.extend({ type: z.literal('PRESENCE_LEAVE') }).strict(),
  broadcastSchema.extend({ type: z.literal('BROADCAST') }).strict(),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/** `POST /v1/sync`: a subscription and the client's state vector (key → version). */
export const diffSyncRequestSchema = z
  .object({
    subscription: subscriptionSchema,
    versions: z.record(z.string().max(1024), z.number().int().nonnegative()),
  })
  .strict();
export type DiffSyncRequest = z.infer<typeof diffSyncRequestSchema>;

/** A row value in a write: JSON scalars, or any JSON for json/jsonb columns (checked against column types on the server). */
const writeValueSchema: z.ZodType<unknown> = z.unknown();
const tableNameSchema = z.string().min(1).max(128);
const rowIdSchema = z.union([z.string().min(1).max(1024), z.number().finite()]);
const columnNameSchema = z.string().min(1).max(128);
const versionSchema = z.number().int().nonnegative();

export const writeOpSchema = z.discriminatedUnion('type', [
  z
    .object({ type: z.literal('insert'), table: tableNameSchema, row: z.record(columnNameSchema, writeValueSchema) })
    .strict(),
  z
    .object({
      type: z.literal('set'),
      table: tableNameSchema,
      id: rowIdSchema,
      key: columnNameSchema,
      value: writeValueSchema,
      expectedVersion: versionSchema.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('set-now'),
      table: tableNameSchema,
      id: rowIdSchema,
      key: columnNameSchema,
      expectedVersion: versionSchema.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('update'),
      table: tableNameSchema,
      id: rowIdSchema,
      values: z.record(columnNameSchema, writeValueSchema),
      expectedVersion: versionSchema.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('delete'),
      table: tableNameSchema,
      id: rowIdSchema,
      expectedVersion: versionSchema.optional(),
    })
    .strict(),
]);
export type WriteOp = z.infer<typeof writeOpSchema>;

const mutationBase = { clientId: clientIdSchema, mutationId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) };

/** `POST /v1/mutate` with ops, all applied in one transaction. */
export const mutateOpsRequestSchema = z
  .object({ ...mutationBase, ops: z.array(writeOpSchema).min(1).max(100) })
  .strict();
/** `POST /v1/mutate` with a named mutator. */
export const mutateMutatorRequestSchema = z
  .object({ ...mutationBase, mutator: z.string().min(1).max(128), args: z.unknown().optional() })
  .strict();
/** Either; servers pick the schema by the presence of `ops`, so errors can name the op. */
export const mutateRequestSchema = z.union([mutateOpsRequestSchema, mutateMutatorRequestSchema]);
export type MutateRequest = z.infer<typeof mutateRequestSchema>;
