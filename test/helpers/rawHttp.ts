/** Raw TCP clients for tests of what a server does with badly behaved HTTP clients. */
import net from 'node:net';

export interface RawClient {
  socket: net.Socket;
  /** everything received so far */
  received(): string;
  /** resolves with ms since connect when the server closes (or resets) the socket */
  closed: Promise<number>;
  write(text: string | Buffer): void;
}

/** A connected socket to the host and port of `url`. */
export function connectRaw(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    let text = '';
    const started = performance.now();
    socket.setEncoding('utf8').on('data', (d: string) => (text += d));
    const closed = new Promise<number>((done) => socket.once('close', () => done(performance.now() - started)));
    socket.on('error', () => undefined); // resets show up as 'close'
    socket.once('connect', () =>
      resolve({ socket, received: () => text, closed, write: (data) => void (socket.writable && socket.write(data)) }),
    );
    socket.once('error', reject);
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** The first HTTP/1.1 response in `text`, its body parsed as JSON. */
export function parseRawResponse(text: string): RawResponse {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) throw new Error(`no complete HTTP response in ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, headEnd).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const length = Number(headers['content-length']);
  const body = text.slice(headEnd + 4, headEnd + 4 + length);
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body) };
}
