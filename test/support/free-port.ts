// A TCP port free on 127.0.0.1 right now: the OS picks it (listen on 0), we release it. Another
// process could take it before the caller binds it; tests and benchmarks accept that small race.
import net from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
