import { rmSync } from 'node:fs';
import type net from 'node:net';

/**
 * Starts `server` listening on `host` (`unix:/path`: a socket file, replacing a stale one;
 * otherwise an address and `port`, 0 for any free one). Resolves with what a client connects
 * to (`unix:/path`, `host:port`, `[v6]:port`) and the bound address itself.
 */
export async function listenOn(
  server: net.Server,
  host: string,
  port = 0,
): Promise<{ address: string; bound: string }> {
  const unix = host.startsWith('unix:');
  if (unix) rmSync(host.slice('unix:'.length), { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      resolve();
    };
    if (unix) server.listen(host.slice('unix:'.length), listening);
    else server.listen(port, host, listening);
  });
  if (unix) return { address: host, bound: host };
  const address = server.address() as net.AddressInfo;
  return {
    address:
      address.family === 'IPv6'
        ? `[${address.address}]:${address.port}`
        : `${address.address}:${address.port}`,
    bound: address.address,
  };
}
