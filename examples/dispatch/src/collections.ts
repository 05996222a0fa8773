/**
 * Seed 000's collection list. Per-user collections take the user from the
 * token (`{ claim: 'sub' }`), never from a param the client chose; RLS
 * (rls.ts) narrows the board collections per role.
 */
import { defineCollections, type AccessContext } from '@syncline/server';

const ACTIVE = ['pending', 'accepted', 'in_progress', 'delivering'];
const me = { claim: 'sub' } as const;
const isDispatcher = ({ claims }: AccessContext) => claims['app_role'] === 'dispatcher';
const isDriver = ({ claims }: AccessContext) => claims['app_role'] === 'driver';

export const demoCollections = defineCollections([
  // The board: every active order, for dispatchers only (customers and drivers use their own lists).
  { name: 'orders_active', table: 'order', filter: { in: ['status', ACTIVE] }, access: isDispatcher, shared: true },
  {
    name: 'orders_history',
    table: 'order',
    filter: { in: ['status', ['delivered', 'cancelled']] },
    access: isDispatcher,
    shared: true,
  },
  { name: 'orders_my_customer', table: 'order', filter: { eq: ['customer_id', me] } },
  // Orders waiting for a driver: offered to every driver, who may accept one (orders.accept).
  { name: 'orders_open', table: 'order', filter: { eq: ['status', 'pending'] }, access: isDriver, shared: true },
  { name: 'orders_my_driver', table: 'order', filter: { eq: ['driver_id', me] } },
  {
    name: 'chat_messages',
    table: 'chat_message',
    filter: { eq: ['chat_id', { param: 'chatId' }] },
    params: ['chatId'],
    // Only members of the chat; removing a member revokes their subscription live.
    access: {
      exists: {
        table: 'chat',
        filter: {
          and: [{ eq: ['id', { param: 'chatId' }] }, { or: [{ eq: ['customer_id', me] }, { eq: ['driver_id', me] }] }],
        },
      },
    },
  },
  { name: 'chats_my', table: 'chat', filter: { or: [{ eq: ['customer_id', me] }, { eq: ['driver_id', me] }] } },
  { name: 'user_notifications', table: 'notification', filter: { eq: ['user_id', me] } },
  {
    name: 'user_notifications_unread',
    table: 'notification',
    filter: { and: [{ eq: ['user_id', me] }, { eq: ['read', false] }] },
  },
  // Names and roles are public to signed-in users: shared by everyone asking for the same profile.
  {
    name: 'user_profile',
    table: 'user',
    filter: { eq: ['id', { param: 'userId' }] },
    params: ['userId'],
    shared: true,
  },
]);
