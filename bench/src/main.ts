/**
 * `npm run bench -- <name> [options]`. Each benchmark prints its environment and
 * a table of medians and ratios; nothing asserts, nothing passes or fails.
 */
import { connectionsUsage, runConnections } from './connections.ts';
import { latencyUsage, runLatency } from './latency.ts';
import { reconnectUsage, runReconnect } from './reconnect.ts';
import { runTraffic, trafficUsage } from './traffic.ts';
import { routingUsage, runRouting } from './routing.ts';
import { rlsUsage, runRls } from './rls.ts';
import { clusterUsage, runCluster } from './cluster.ts';
import { presenceUsage, runPresence } from './presence.ts';
import { clientUsage, runClient } from './client.ts';
import { UsageError } from './usage-error.ts';

interface Benchmark {
  usage: string;
  run(argv: string[]): Promise<void>;
}

const benchmarks: Record<string, Benchmark> = {
  latency: { usage: latencyUsage, run: runLatency },
  connections: { usage: connectionsUsage, run: runConnections },
  traffic: { usage: trafficUsage, run: runTraffic },
  reconnect: { usage: reconnectUsage, run: runReconnect },
  routing: { usage: routingUsage, run: runRouting },
  rls: { usage: rlsUsage, run: runRls },
  cluster: { usage: clusterUsage, run: runCluster },
  presence: { usage: presenceUsage, run: runPresence },
  client: { usage: clientUsage, run: runClient },
};

function usage(): string {
  return `usage: npm run bench -- <benchmark> [options]\n\nbenchmarks:\n${Object.values(benchmarks)
    .map((b) => `  ${b.usage.replaceAll('\n', '\n  ')}`)
    .join('\n\n')}`;
}

const [name, ...rest] = process.argv.slice(2);
if (name === '--help' || name === '-h' || name === 'help') {
  console.log(usage());
} else {
  const bench = name === undefined ? undefined : benchmarks[name];
  if (!bench) {
    console.error(`${name === undefined ? 'no benchmark given' : `unknown benchmark: ${name}`}\n\n${usage()}`);
    process.exit(2);
  }
  bench.run(rest).then(
    () => process.exit(0),
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(`${err.message}\n\n${usage()}`);
        process.exit(2);
      }
      if (err instanceof Error && err.message === 'interrupted') {
        console.error('interrupted (cleaned up)');
        process.exit(130);
      }
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}
