// A Postgres wire-protocol server in front of one PGlite instance, so every part of the app
// (and tests in other processes) talks to the embedded database with `pg`, exactly as to a
// native server.
//
// PGlite is a single session. Serving several connections from it safely takes two rules:
// 1. A client's extended-protocol batch (Parse … Sync) or simple query runs as one unit, never
//    interleaved with another connection's messages: they share the unnamed statement and
//    portal. (@electric-sql/pglite-socket schedules message by message and interleaves them —
//    electric-sql/pglite#1046 — which silently mixed up concurrent queries here.)
// 2. While a transaction is open, only the connection that opened it runs; the others wait.
//    A connection that goes away inside its transaction has it rolled back.
//
// PGlite itself trusts whoever talks to it, and any local process can find a TCP port, so the
// server asks every connection for its password (SCRAM-SHA-256, as Postgres does) before
// PGlite sees the connection's startup message.
import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import { SCRAM_MECHANISM, ScramExchange, scramVerifier, type ScramVerifier } from './scram.js';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Extended-protocol messages that belong to the batch a Sync ends. */
const BATCHED = new Set(['P', 'B', 'D', 'E', 'C', 'H']);
const AUTH_SASL = 10;
const AUTH_SASL_CONTINUE = 11;
const AUTH_SASL_FINAL = 12;

function authenticationMessage(code: number, data = ''): Buffer {
  const body = Buffer.from(data);
  const out = Buffer.alloc(9 + body.length);
  out.write('R', 0);
  out.writeInt32BE(8 + body.length, 1);
  out.writeInt32BE(code, 5);
  body.copy(out, 9);
  return out;
}

function fatalError(sqlState: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${sqlState}\0M${message}\0\0`);
  const out = Buffer.alloc(5 + fields.length);
  out.write('E', 0);
  out.writeInt32BE(4 + fields.length, 1);
  fields.copy(out, 5);
  return out;
}

interface Unit {
  conn: Connection;
  bytes: Buffer;
}

class Connection {
  buffer: Buffer = Buffer.alloc(0);
  started = false;
  pending: Buffer[] = [];
  closed = false;
  /** The startup message, held back from PGlite until the password checks out. */
  startup: Buffer | undefined;
  scram: ScramExchange | undefined;
  authenticated = false;
  constructor(readonly socket: net.Socket) {}
}

export class PgliteServer {
  private readonly server: net.Server;
  private readonly queue: Unit[] = [];
  private readonly connections = new Set<Connection>();
  private running = false;
  private stopped = false;
  /** The connection whose transaction is open, if any. */
  private owner: Connection | undefined;
  private readonly verifier: ScramVerifier;

  constructor(
    private readonly db: PGlite,
    opts: { password: string },
  ) {
    this.verifier = scramVerifier(opts.password);
    this.server = net.createServer((socket) => this.accept(socket));
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    this.stopped = true;
    for (const conn of this.connections) conn.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const conn = new Connection(socket);
    this.connections.add(conn);
    socket.setNoDelay(true);
    socket.on('data', (data) => this.receive(conn, data));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => void this.disconnect(conn));
  }

  private receive(conn: Connection, data: Buffer): void {
    if (conn.socket.writableEnded) return; // refused, or said goodbye
    conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, data]) : data;
    for (;;) {
      if (!conn.started) {
        // Startup-phase messages have no type byte: length, then a protocol code.
        if (conn.buffer.length < 8) return;
        const length = conn.buffer.readInt32BE(0);
        if (conn.buffer.length < length) return;
        const code = conn.buffer.readInt32BE(4);
        const message = conn.buffer.subarray(0, length);
        conn.buffer = conn.buffer.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          conn.socket.write('N'); // no encryption on a loopback socket
        } else if (code === CANCEL_REQUEST) {
          conn.socket.end(); // PGlite cannot cancel a running statement
          return;
        } else {
          conn.started = true;
          conn.startup = Buffer.from(message);
          conn.socket.write(authenticationMessage(AUTH_SASL, `${SCRAM_MECHANISM}\0\0`));
        }
        continue;
      }
      if (conn.buffer.length < 5) return;
      const length = conn.buffer.readInt32BE(1) + 1;
      if (conn.buffer.length < length) return;
      const type = String.fromCharCode(conn.buffer[0]!);
      const message = Buffer.from(conn.buffer.subarray(0, length));
      conn.buffer = conn.buffer.subarray(length);
      if (type === 'X') {
        conn.socket.end();
        return;
      }
      if (!conn.authenticated) {
        if (!this.authenticate(conn, type, message.subarray(5))) {
          conn.socket.end(fatalError('28P01', 'password authentication failed'));
          conn.buffer = Buffer.alloc(0);
          return;
        }
        continue;
      }
      conn.pending.push(message);
      if (!BATCHED.has(type)) {
        // Sync ends a batch; a simple Query (or anything else) is a unit of its own.
        this.enqueue(conn, Buffer.concat(conn.pending));
        conn.pending = [];
      }
    }
  }

  /** One step of the SCRAM exchange; false means refuse the connection. */
  private authenticate(conn: Connection, type: string, body: Buffer): boolean {
    if (type !== 'p') return false;
    try {
      if (!conn.scram) {
        // SASLInitialResponse: the mechanism's name, then the length of the client's first message.
        const end = body.indexOf(0);
        if (end < 0 || body.toString('utf8', 0, end) !== SCRAM_MECHANISM) return false;
        const length = body.readInt32BE(end + 1);
        const clientFirst = body.toString('utf8', end + 5, end + 5 + Math.max(length, 0));
        conn.scram = new ScramExchange(this.verifier);
        conn.socket.write(authenticationMessage(AUTH_SASL_CONTINUE, conn.scram.first(clientFirst)));
        return true;
      }
      const serverFinal = conn.scram.final(body.toString('utf8'));
      if (!serverFinal) return false;
      conn.socket.write(authenticationMessage(AUTH_SASL_FINAL, serverFinal));
    } catch {
      return false;
    }
    conn.authenticated = true;
    // PGlite answers the startup message itself (AuthenticationOk, parameters, ReadyForQuery).
    this.enqueue(conn, conn.startup!);
    conn.startup = undefined;
    return true;
  }

  private enqueue(conn: Connection, bytes: Buffer): void {
    this.queue.push({ conn, bytes });
    void this.drain();
  }

  private next(): Unit | undefined {
    const owner = this.owner && !this.owner.closed && this.db.isInTransaction() ? this.owner : undefined;
    const index = owner ? this.queue.findIndex((u) => u.conn === owner) : 0;
    return index >= 0 ? this.queue.splice(index, 1)[0] : undefined;
  }

  private async drain(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      for (let unit = this.next(); unit; unit = this.next()) {
        const { conn, bytes } = unit;
        if (conn.closed) continue;
        this.owner = conn;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(bytes, {
              onRawData: (chunk) => {
                if (!conn.closed) conn.socket.write(Buffer.from(chunk));
              },
            }),
          );
        } catch {
          // An internal failure of PGlite must not stall everyone else: drop that client.
          conn.socket.destroy();
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async disconnect(conn: Connection): Promise<void> {
    conn.closed = true;
    this.connections.delete(conn);
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]!.conn === conn) this.queue.splice(i, 1);
    if (this.stopped) return;
    if (this.owner === conn) {
      this.owner = undefined;
      // exec() takes PGlite's lock itself (and the lock is not re-entrant).
      if (this.db.isInTransaction()) await this.db.exec('ROLLBACK').catch(() => undefined);
    }
    void this.drain();
  }
}
