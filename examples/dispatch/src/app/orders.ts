/** What the views share about orders: the board's columns, labels, the next step, and readable rejections. */
import type { Row } from '@syncline/protocol';
import type { RejectedEvent } from '@syncline/client';
import { nameOf } from './session.ts';

export const COLUMNS = ['pending', 'accepted', 'in_progress', 'delivering'] as const;
export type Status = (typeof COLUMNS)[number] | 'delivered' | 'cancelled';

export interface Order extends Row {
  id: string;
  status: Status;
  title: string;
  address: string;
  total: string;
  customer_id: string;
  driver_id: string | null;
  version: number;
  created_at: string;
}

const LABELS: Record<Status, string> = {
  pending: 'Pending',
  accepted: 'Accepted',
  in_progress: 'In progress',
  delivering: 'Delivering',
  delivered: 'Delivered',
  cancelled: 'Cancelled',
};

export const label = (s: unknown): string => LABELS[s as Status] ?? String(s);

/** The drag-and-drop payload type of a board card (its order id). */
export const ORDER_DRAG_TYPE = 'application/x-dispatch-order';

/** The driver's next step (orders.updateStatus allows exactly these). */
export const NEXT_FOR_DRIVER: Partial<Record<Status, Status>> = {
  accepted: 'in_progress',
  in_progress: 'delivering',
  delivering: 'delivered',
};

export const isActive = (o: Order): boolean => (COLUMNS as readonly string[]).includes(o.status);

/** A rejection as a sentence: a 409 says what the order is now and who has it. */
export function describeRejection(e: RejectedEvent): string {
  const row = e.current?.row as Partial<Order> | null | undefined;
  if (e.error.code === 'CONFLICT' && row) {
    const driver = row.driver_id ? `, driver ${nameOf(row.driver_id)}` : '';
    return `“${row.title}” was changed by someone else: it is now ${label(row.status)}${driver}. Your change was rolled back.`;
  }
  if (e.error.code === 'CONFLICT') return `Conflict: ${e.error.message}. Your change was rolled back.`;
  if (e.error.code === 'FORBIDDEN') return `Not allowed: ${e.error.message}. Your change was rolled back.`;
  return `${e.error.code}: ${e.error.message}. Your change was rolled back.`;
}
