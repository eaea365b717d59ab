// The plain Node peer the hub's board sockets are measured against: a `ws` server that greets
// each socket (as the hub sends a board its snapshot) and, on POST /fire, fans one JSON message
// out to every socket, serialised once. No store, no sign-in.
// node peer.mjs <port>
import http from 'node:http';
import { WebSocketServer } from 'ws';

let calls = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/fire') {
    calls += 1;
    const msg = JSON.stringify({ new_call: { number: 'A' + String(calls).padStart(3, '0'), window: '1', recall: true }, at: Date.now() });
    for (const c of wss.clients) if (c.readyState === 1) c.send(msg);
    res.end('{}');
    return;
  }
  res.statusCode = 404;
  res.end();
});
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
wss.on('connection', (ws) => ws.send(JSON.stringify({ calls: [] })));
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => console.log('listening ' + server.address().port));
