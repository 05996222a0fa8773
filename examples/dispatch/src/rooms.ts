/**
 * The demo's presence rooms. Access rules read PostgreSQL as the user, so the
 * demo's RLS decides who may be in an order's room (dispatchers: any order;
 * customers and drivers: their own), and an `exists` rule is watched: a driver
 * unassigned from an order leaves its room at once.
 */
import { defineRooms } from '@syncline/server';

const me = { claim: 'sub' } as const;

export const demoRooms = defineRooms([
  // Drivers on shift, with their status; dispatchers watch it to assign orders.
  {
    name: 'drivers-online',
    access: ({ claims }) => claims['app_role'] === 'driver' || claims['app_role'] === 'dispatcher',
  },
  // Who else is looking at this order (its card, its chat).
  { name: 'order:{orderId}', access: { exists: { table: 'order', filter: { eq: ['id', { param: 'orderId' }] } } } },
  // A chat's typing indicator goes on this room's broadcast.
  {
    name: 'chat:{chatId}',
    access: {
      exists: {
        table: 'chat',
        filter: {
          and: [{ eq: ['id', { param: 'chatId' }] }, { or: [{ eq: ['customer_id', me] }, { eq: ['driver_id', me] }] }],
        },
      },
    },
  },
]);
