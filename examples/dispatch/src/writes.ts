/**
 * Plain writes the demo allows besides its mutators: a user marks their own
 * notifications read (and nothing else about them).
 */
import type { TableWriteRules } from '@syncline/server';

export const demoWrites: Record<string, TableWriteRules> = {
  notification: { columns: ['read'], update: { eq: ['user_id', { claim: 'sub' }] } },
};
