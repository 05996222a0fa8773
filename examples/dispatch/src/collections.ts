/**
 * Seed 000's collection list. Until auth lands, per-user collections take the
 * user id as a plain `userId` param; with JWT it will come from the token.
 */
import { defineCollections } from '@syncline/server';

const ACTIVE = ['pending', 'accepted', 'in_progress', 'delivering'];

export const demoCollections = defineCollections([
  { name: 'orders_active', table: 'order', filter: { in: ['status', ACTIVE] } },
  { name: 'orders_history', table: 'order', filter: { in: ['status', ['delivered', 'cancelled']] } },
  {
    name: 'orders_my_customer',
    table: 'order',
    filter: { eq: ['customer_id', { param: 'userId' }] },
    params: ['userId'],
  },
  { name: 'orders_my_driver', table: 'order', filter: { eq: ['driver_id', { param: 'userId' }] }, params: ['userId'] },
  {
    name: 'chat_messages',
    table: 'chat_message',
    filter: { eq: ['chat_id', { param: 'chatId' }] },
    params: ['chatId'],
  },
  {
    name: 'chats_my',
    table: 'chat',
    filter: { or: [{ eq: ['customer_id', { param: 'userId' }] }, { eq: ['driver_id', { param: 'userId' }] }] },
    params: ['userId'],
  },
  {
    name: 'user_notifications',
    table: 'notification',
    filter: { eq: ['user_id', { param: 'userId' }] },
    params: ['userId'],
  },
  {
    name: 'user_notifications_unread',
    table: 'notification',
    filter: { and: [{ eq: ['user_id', { param: 'userId' }] }, { eq: ['read', false] }] },
    params: ['userId'],
  },
  { name: 'user_profile', table: 'user', filter: { eq: ['id', { param: 'userId' }] }, params: ['userId'] },
]);
