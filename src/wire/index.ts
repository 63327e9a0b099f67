// The wire room: bytes <-> validated messages. No sockets here; the runtime and
// the client library own those and use this to frame, decode and check.
export { WireError, isWireError } from './errors.js';
export { encodeMessage, decodeMessage } from './codec.js';
export { FrameDecoder, encodeFrame, frameBytesMaxDefault, frameHeaderBytes } from './frame.js';
export type { FrameDecoderOptions } from './frame.js';
export {
  parsePeerMessage,
  parseHello,
  parseHandshakeReply,
  parseGoodbye,
  isGoodbye,
  parseClientRequest,
  parseClientResponse,
  nodeIdMin,
  nodeIdMax,
  commandsPerValueMax,
  acceptedEntriesMax,
  chosenEntriesMax,
  dataDepthMax,
  clientIdCharsMax,
  clusterIdCharsMax,
  textCharsMax,
  errorCodeCharsMax,
  addressCharsMax,
  ballotTextCharsMax,
  statusPeersMax,
} from './validate.js';
export { ListenerHandshake, PeerDialHandshake } from './handshake.js';
export type { HandshakePhase, HandshakeRefusal, HandshakeStep, ListenerHandshakeOptions, PeerDialOptions, PeerDialStep } from './handshake.js';
export { protocolVersion } from './protocol.js';
export type {
  HelloMessage,
  WelcomeMessage,
  GoodbyeMessage,
  CloseReason,
  SubmitRequest,
  StatusRequest,
  ClientRequest,
  ResultResponse,
  RefusedResponse,
  RedirectResponse,
  ErrorResponse,
  NodeStatus,
  StatusResponse,
  ClientResponse,
  WireMessage,
} from './protocol.js';
