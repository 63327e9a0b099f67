// A scripted stand-in for a paxos node: speaks the real wire (frames, hello /
// welcome) over real TCP on a free port, and answers each client request as
// the test's script says.
import net from 'node:net';
import { encodeFrame, FrameDecoder, frameBytesMaxDefault } from '../../../src/wire/frame.js';
import { parseClientRequest, parseHello } from '../../../src/wire/validate.js';
import {
  protocolVersion,
  type ClientRequest,
  type ClientResponse,
  type GoodbyeMessage,
  type NodeStatus,
  type SubmitRequest,
  type WireMessage,
} from '../../../src/wire/protocol.js';

/** What the script does with one request. */
export type FakeAction =
  | { reply: DistributiveOmit<ClientResponse, 'id'>; delayMs?: number }
  | { close: true }
  | { hang: true };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface FakeNodeOptions {
  nodeId: number;
  clusterId?: string;
  /** Answer to a hello: welcome by default. */
  goodbye?: Omit<GoodbyeMessage, 'type'>;
  /** Called for each request with how many came before it (0-based); registrations are not counted. */
  script?: (request: ClientRequest, index: number) => FakeAction;
  /**
   * What a session registration (a submit of seq 0, op null) gets, with how
   * many came before it: by default the session `<client>@1.<index>`, as a
   * real node names it after where it was chosen.
   */
  registration?: (request: SubmitRequest, index: number) => FakeAction;
}

export interface FakeNode {
  nodeId: number;
  port: number;
  address: string;
  requests: ClientRequest[];
  /** Session registrations received (kept out of `requests`). */
  registrations: SubmitRequest[];
  /** Connections accepted so far. */
  readonly connectionsAccepted: number;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/** Every node started by a test; closed in afterEach with closeAll. */
const started = new Set<FakeNode>();

export async function startFakeNode(options: FakeNodeOptions): Promise<FakeNode> {
  const sockets = new Set<net.Socket>();
  const requests: ClientRequest[] = [];
  const registrations: SubmitRequest[] = [];
  let connectionsAccepted = 0;
  const server = net.createServer((socket) => {
    connectionsAccepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    serve(socket, options, requests, registrations);
  });
  const port = await listen(server);
  const node: FakeNode = {
    nodeId: options.nodeId,
    port,
    address: `127.0.0.1:${port}`,
    requests,
    registrations,
    get connectionsAccepted() {
      return connectionsAccepted;
    },
    close: async () => {
      started.delete(node);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  started.add(node);
  return node;
}

export async function closeAll(): Promise<void> {
  await Promise.all([...started].map((node) => node.close()));
}

/** An address where nothing listens: bind a free port, then release it. */
export async function refusedAddress(): Promise<string> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

export function applied(result: unknown, slot = 1): FakeAction {
  return { reply: { type: 'result', slot, result } };
}

export function redirect(leader: number | null, address: string | null): FakeAction {
  return { reply: { type: 'redirect', leader, address } };
}

export function nodeError(indeterminate: boolean, code = 'busy'): FakeAction {
  return { reply: { type: 'error', code, message: `fake ${code}`, indeterminate } };
}

export function statusOf(nodeId: number, fields: Partial<NodeStatus> = {}): NodeStatus {
  return {
    id: nodeId,
    address: `127.0.0.1:${7400 + nodeId}`,
    role: 'follower',
    leader: 1,
    ballot: '3.1',
    promised: '3.1',
    commitIndex: 10,
    lastChosen: 10,
    lastApplied: 10,
    appliedDigest: 'abc123',
    walBytes: 2048,
    lastSnapshot: 0,
    uptimeMs: 65_000,
    clusterId: 'test',
    peers: [],
    ...fields,
  };
}

export function registered(session: string): FakeAction {
  return { reply: { type: 'result', slot: 1, result: { session } } };
}

function serve(socket: net.Socket, options: FakeNodeOptions, requests: ClientRequest[], registrations: SubmitRequest[]): void {
  const decoder = new FrameDecoder({ frameBytesMax: frameBytesMaxDefault });
  let welcomed = false;
  socket.on('data', (chunk: Buffer) => {
    for (const message of decoder.push(chunk)) {
      if (!welcomed) {
        welcomed = true;
        handshake(socket, options, message);
        continue;
      }
      const request = parseClientRequest(message);
      if (request.type === 'submit' && request.seq === 0 && request.op === null) {
        registrations.push(request);
        const index = registrations.length - 1;
        act(socket, request, options.registration?.(request, index) ?? registered(`${request.client}@1.${index}`));
        continue;
      }
      requests.push(request);
      const action = options.script?.(request, requests.length - 1) ?? { hang: true };
      act(socket, request, action);
    }
  });
}

function handshake(socket: net.Socket, options: FakeNodeOptions, message: unknown): void {
  const hello = parseHello(message);
  if (hello.role !== 'client' || hello.protocol !== protocolVersion) throw new Error('fake node: unexpected hello');
  if (options.goodbye !== undefined) {
    send(socket, { type: 'goodbye', ...options.goodbye });
    socket.end();
    return;
  }
  send(socket, { type: 'welcome', protocol: protocolVersion, clusterId: options.clusterId ?? 'test', nodeId: options.nodeId });
}

function act(socket: net.Socket, request: ClientRequest, action: FakeAction): void {
  if ('close' in action) {
    socket.destroy();
    return;
  }
  if ('hang' in action) return;
  const response = { ...action.reply, id: request.id } as ClientResponse;
  if (action.delayMs === undefined) send(socket, response);
  else setTimeout(() => send(socket, response), action.delayMs);
}

function send(socket: net.Socket, message: WireMessage): void {
  if (!socket.destroyed) socket.write(encodeFrame(message));
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no port'));
      else resolve(address.port);
    });
  });
}
