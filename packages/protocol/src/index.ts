export { PROTOCOL_VERSION } from './protocol-version.ts';
export { ERROR_CODES, type ErrorCode, type ErrorBody } from './errors.ts';
export type { JsonValue, Row } from './values.ts';
export type {
  AckMessage,
  Change,
  ChangeOp,
  ChangesMessage,
  DiffSyncResponse,
  SubscribedMessage,
  TokenExpiringSoonMessage,
  ErrorMessage,
  HelloMessage,
  MutationRef,
  ResyncMessage,
  ResyncReason,
  SnapshotMessage,
  SnapshotRow,
  SseEventName,
  SseEvents,
} from './messages.ts';
export {
  clientIdSchema,
  clientMessageSchema,
  diffSyncRequestSchema,
  type ClientMessage,
  type DiffSyncRequest,
  paramsSchema,
  paramValueSchema,
  subscribeRequestSchema,
  subscriptionIdSchema,
  subscriptionSchema,
  unsubscribeRequestSchema,
  type SubscribeRequest,
  type Subscription,
  type UnsubscribeRequest,
} from './schemas.ts';
