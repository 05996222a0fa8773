/**
 * A tiny round-robin front for trying a cluster locally (development only, not
 * a load balancer): each HTTP request and WebSocket upgrade goes to the next
 * node that accepts the connection, so no session sticks to a node.
 */
import http from 'node:http';
import net from 'node:net';

export function startRoundRobin(port: number, backends: number[]): Promise<http.Server> {
  let next = 0;
  const pick = () => backends[next++ % backends.length] as number;

  /** Connects to the next node that answers; null when none does. */
  const connect = (tries = backends.length): Promise<net.Socket | null> =>
    new Promise((resolve) => {
      if (tries === 0) return resolve(null);
      const s = net.connect(pick(), '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', () => {
        s.destroy();
        void connect(tries - 1).then(resolve);
      });
    });

  const server = http.createServer((req, res) => {
    void connect().then((socket) => {
      if (!socket) {
        res.writeHead(502).end('no node is up');
        return;
      }
      const upstream = http.request(
        { createConnection: () => socket, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      // A node that dies mid-stream (an SSE response) must end the client's response too, or the
      // client waits on a stream nobody writes to.
      socket.once('close', () => {
        if (!res.writableFinished) res.destroy();
      });
      res.on('close', () => upstream.destroy());
      req.pipe(upstream);
    });
  });
  server.on('upgrade', (req, client, head) => {
    client.on('error', () => client.destroy());
    void connect().then((socket) => {
      if (!socket) return void client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) socket.write(head);
      socket.on('error', () => client.destroy());
      socket.pipe(client).pipe(socket);
    });
  });
  return new Promise((resolve) => server.listen(port, '0.0.0.0', () => resolve(server)));
}
