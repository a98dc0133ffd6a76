/**
 * `npm start`: until the gateway lands, a minimal echo server on the codec.
 * WS on 0.0.0.0:9992 (any path); every message is sent back as received.
 */
import { WebSocketServer } from './gateway/websocket-server.js';

const port = Number(process.env.HERALD_WS_PORT ?? 9992);
const server = new WebSocketServer({
  handler: {
    onMessage(conn, data, isText) {
      conn.send(isText ? data.toString('utf8') : data, isText);
    },
  },
});
const address = await server.listen(port, process.env.HERALD_WS_HOST ?? '0.0.0.0');
console.log(`herald echo server listening on ws://${address.address}:${address.port}/`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
