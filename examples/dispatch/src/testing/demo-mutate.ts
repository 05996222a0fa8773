/** `POST /v1/mutate` as a demo user from its own device, with mutation ids per client and without gaps. */
import type { SynclineServer } from '../../../../packages/server/src/server.ts';
import { testToken } from '../../../../packages/server/test/test-token.ts';

export function demoMutate(server: () => SynclineServer) {
  const seq = new Map<string, number>();
  return async (user: string, role: string, body: object): Promise<{ status: number; body: unknown }> => {
    const clientId = `${user}-device`;
    const mutationId = (seq.get(clientId) ?? 0) + 1;
    seq.set(clientId, mutationId);
    const res = await fetch(new URL('/v1/mutate', server().url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${testToken(user, { app_role: role })}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ clientId, mutationId, ...body }),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as unknown };
  };
}
