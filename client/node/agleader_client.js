'use strict';
// A small Node.js client of leaf.agleader.v1.AgLeaderCredentials, on
// @grpc/grpc-js with the .proto loaded at run time by @grpc/proto-loader.
//
//   const { AgLeaderClient, AgLeaderError } = require('./agleader_client');
//   const client = new AgLeaderClient('127.0.0.1:50051');
//   const creds = await client.createCredentials(
//       { leafUserId, refreshToken, publicKey, privateKey });
//   try { await client.getCredentials({ leafUserId: other }); }
//   catch (e) { if (e instanceof AgLeaderError) console.log(e.codeName, e.reason, e.metadata); }
//   client.close();
//
// Every error of the service carries a google.rpc.Status in the trailing
// metadata entry `grpc-status-details-bin`; decodeError() parses it with
// protobufjs and unpacks the google.rpc.ErrorInfo (reason, domain, metadata),
// BadRequest (field violations) and RetryInfo (retry delay) it holds.
//
// Messages are plain objects with lowerCamelCase fields (leafUserId), enums as
// their names ('CREDENTIAL_STATUS_OK'), int64 as strings, defaults filled in;
// toProto3Json() turns one into canonical proto3 JSON (what the CLI prints).
//
// Installed from its tarball (npm pack), the package carries the .proto files
// and the service config in bundle/; in a checkout it reads the repository's.

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const { messageToJson } = require('./proto_json');
const { isRetriable, Rewatcher } = require('./rewatch');

const BUNDLE = path.join(__dirname, 'bundle');
const REPO = path.resolve(__dirname, '..', '..');
const BUNDLED = fs.existsSync(path.join(BUNDLE, 'service_config.json'));
const PROTO_ROOT = BUNDLED ? BUNDLE : path.join(REPO, 'proto');
const RPC_ROOT = BUNDLED ? BUNDLE : path.join(REPO, 'third_party', 'googleapis');
const SERVICE_PROTO = 'leaf/agleader/v1/agleader_credentials.proto';
// The service config the deployment recommends (retries, timeouts), used when
// no other is given.
const DEFAULT_SERVICE_CONFIG = BUNDLED
  ? path.join(BUNDLE, 'service_config.json')
  : path.join(REPO, 'client', 'service_config.json');
const ERROR_DOMAIN = 'leaf.agleader.v1';
const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

const LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT, RPC_ROOT],
};

const packageDefinition = protoLoader.loadSync(SERVICE_PROTO, LOADER_OPTIONS);
const api = grpc.loadPackageDefinition(packageDefinition).leaf.agleader.v1;

// google.rpc.Status and the error details, for decoding only.
const rpcRoot = new protobuf.Root();
rpcRoot.resolvePath = (_origin, target) =>
  fs.existsSync(path.join(RPC_ROOT, target)) ? path.join(RPC_ROOT, target) : target;
rpcRoot.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
const Status = rpcRoot.lookupType('google.rpc.Status');

// The service's messages as protobufjs types, for toProto3Json().
const serviceRoot = new protobuf.Root();
// The service proto imports google/rpc/status.proto (CredentialsChange.error).
serviceRoot.resolvePath = (_origin, target) =>
  [PROTO_ROOT, RPC_ROOT].map((root) => path.join(root, target)).find((p) => fs.existsSync(p)) ||
  target;
serviceRoot.loadSync(SERVICE_PROTO);

/** Canonical proto3 JSON (as grpcurl prints) of `object`, a `typeName` message. */
function toProto3Json(typeName, object) {
  const type = serviceRoot.lookupType(typeName);
  return messageToJson(type, type.fromObject(object));
}

/** A failed RPC with its decoded details; `cause` is the grpc-js ServiceError. */
class AgLeaderError extends Error {
  constructor(details, cause) {
    super(details.message, { cause }); // the server's message, as in error.details
    this.name = 'AgLeaderError';
    Object.assign(this, details);
  }
}

/**
 * Decodes a grpc-js ServiceError: {code, codeName, message, reason, domain,
 * metadata, fieldViolations: [{field, description}], retryDelaySeconds}.
 */
function decodeError(error) {
  const details = {
    code: error.code,
    codeName: grpc.status[error.code] || String(error.code),
    message: error.details || error.message || '',
    reason: '',
    domain: '',
    metadata: {},
    fieldViolations: [],
    retryDelaySeconds: null,
  };
  const raw = error.metadata ? error.metadata.get(STATUS_DETAILS_KEY) : [];
  if (!raw || raw.length === 0) return details;
  return addStatusDetails(details, Status.decode(raw[0]).details);
}

/**
 * Decodes the `error` of one BatchGetCredentials result (an ErrorStatus,
 * wire-compatible with google.rpc.Status) into the fields of decodeError.
 */
function decodeResultError(error) {
  const details = {
    code: error.code,
    codeName: grpc.status[error.code] || String(error.code),
    message: error.message || '',
    reason: '',
    domain: '',
    metadata: {},
    fieldViolations: [],
    retryDelaySeconds: null,
  };
  const anys = (error.details || []).map((a) => ({
    type_url: a.typeUrl || a.type_url || '',
    value: a.value,
  }));
  return addStatusDetails(details, anys);
}

function addStatusDetails(details, anys) {
  for (const any of anys) {
    const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    let type;
    try {
      type = rpcRoot.lookupType(typeName);
    } catch (e) {
      continue; // a detail type this client does not know
    }
    const detail = type.toObject(type.decode(any.value), { longs: Number, defaults: true });
    if (typeName === 'google.rpc.ErrorInfo') {
      details.reason = detail.reason;
      details.domain = detail.domain;
      details.metadata = { ...detail.metadata };
    } else if (typeName === 'google.rpc.BadRequest') {
      for (const v of detail.field_violations) {
        details.fieldViolations.push({ field: v.field, description: v.description });
      }
    } else if (typeName === 'google.rpc.RetryInfo' && detail.retry_delay) {
      details.retryDelaySeconds = detail.retry_delay.seconds + detail.retry_delay.nanos / 1e9;
    }
  }
  return details;
}

/**
 * The API key in `file`: its one line that is not blank or a # comment,
 * surrounding whitespace dropped (as the C++ client's --api_key_file). Throws
 * an Error whose message never holds the key.
 */
function readApiKeyFile(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--api_key_file: cannot read "${file}": ${e.code || e.message}`);
  }
  let key = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    if (key !== null) {
      throw new Error(
        `--api_key_file: "${file}" holds a second key (line ${i + 1}); give the file of one key`,
      );
    }
    key = line;
  });
  if (key === null) throw new Error(`--api_key_file: "${file}" holds no key`);
  return key;
}

// Reads a PEM file given as --`flag`: a wrong file fails here, naming the flag
// and the path (never the content), not as an obscure handshake error later.
function readPem(flag, file, marker, what) {
  let pem;
  try {
    pem = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`--${flag}: cannot read "${file}": ${e.code || e.message}`);
  }
  const text = pem.toString('latin1');
  if (!text.includes('-----BEGIN ') || !text.includes(marker)) {
    throw new Error(`--${flag}: "${file}" holds no PEM ${what}`);
  }
  return pem;
}

/**
 * TLS channel credentials: the server's certificate verified against `caFile`
 * (else the default roots); with `certFile` and `keyFile`, mutual TLS.
 */
function tlsCredentials({ caFile, certFile, keyFile } = {}) {
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new Error('mutual TLS needs both --cert_file and --key_file');
  }
  const root = caFile ? readPem('ca_file', caFile, 'CERTIFICATE-----', 'certificate') : null;
  let chain = null;
  let key = null;
  if (certFile) {
    chain = readPem('cert_file', certFile, 'CERTIFICATE-----', 'certificate');
    key = readPem('key_file', keyFile, 'PRIVATE KEY-----', 'private key');
  }
  return grpc.credentials.createSsl(root, key, chain);
}

/**
 * The gRPC service config JSON to use: `file`, else
 * $AGLEADER_CLIENT_SERVICE_CONFIG, else the shipped one (bundled in the
 * package); null for none (or for "none", as in the C++ client).
 */
function loadServiceConfig(file) {
  let chosen = file || process.env.AGLEADER_CLIENT_SERVICE_CONFIG;
  if (chosen === 'none') return null;
  if (!chosen) {
    chosen = DEFAULT_SERVICE_CONFIG;
  }
  const text = fs.readFileSync(chosen, 'utf8');
  JSON.parse(text); // fail here, clearly, rather than inside gRPC
  return text;
}

/** One channel to the service; each method is one RPC with a deadline. */
class AgLeaderClient {
  /**
   * @param {string} target host:port, or any gRPC target (dns:///...).
   * @param {{timeoutMs?: number, serviceConfig?: string, apiKey?: string,
   *          credentials?: grpc.ChannelCredentials, serverName?: string}} options
   *   apiKey (else $AGLEADER_CLIENT_API_KEY) is sent as `authorization: Bearer
   *   <key>` to a server started with --api_keys; credentials: TLS
   *   (tlsCredentials()); serverName: the name the server's certificate must
   *   carry, instead of the host of `target`.
   */
  constructor(target, options = {}) {
    const channelOptions = {};
    const config = loadServiceConfig(options.serviceConfig);
    if (config !== null) channelOptions['grpc.service_config'] = config;
    if (options.serverName) channelOptions['grpc.ssl_target_name_override'] = options.serverName;
    this.timeoutMs = options.timeoutMs ?? 10000;
    const apiKey = options.apiKey ?? process.env.AGLEADER_CLIENT_API_KEY ?? '';
    this.metadata = new grpc.Metadata();
    if (apiKey) this.metadata.set('authorization', `Bearer ${apiKey}`);
    this.stub = new api.AgLeaderCredentials(
      target,
      options.credentials || grpc.credentials.createInsecure(),
      channelOptions,
    );
  }

  close() {
    this.stub.close();
  }

  call(method, request) {
    return new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + this.timeoutMs);
      this.stub[method](request, this.metadata, { deadline }, (error, response) => {
        if (error) reject(new AgLeaderError(decodeError(error), error));
        else resolve(response);
      });
    });
  }

  /** {leafUserId, refreshToken, publicKey, privateKey, accessToken?, view?} -> Credentials */
  createCredentials(request) {
    return this.call('CreateCredentials', request);
  }

  /** {leafUserId, view?} -> Credentials (AgLeaderError NOT_FOUND when none) */
  getCredentials(request) {
    return this.call('GetCredentials', request);
  }

  /** {leafUserId, allowMissing?} -> {} */
  deleteCredentials(request) {
    return this.call('DeleteCredentials', request);
  }

  /** {leafUserId, pageSize?, pageToken?} -> {events, nextPageToken}, newest first */
  listCredentialEvents(request) {
    return this.call('ListCredentialEvents', request);
  }

  /**
   * {pageSize?, pageToken?, statuses?, view?} -> {credentials, nextPageToken, totalSize}.
   * A page may hold fewer than pageSize credentials (even none) and still have
   * a nextPageToken: stop only when it is empty.
   */
  listCredentials(request = {}) {
    return this.call('ListCredentials', request);
  }

  /** Every user's Credentials (of those statuses), following nextPageToken. */
  async *iterCredentials({ pageSize = 0, statuses = [], view } = {}) {
    let pageToken = '';
    do {
      const page = await this.listCredentials({ pageSize, pageToken, statuses, view });
      yield* page.credentials;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /**
   * {leafUserIds (1 to 500), view?} -> one result per id, in order: {leafUserId,
   * credentials} or {leafUserId, error} (decodeResultError reads the error).
   */
  async batchGetCredentials(request) {
    const response = await this.call('BatchGetCredentials', request);
    return response.results;
  }

  /**
   * Each CredentialsChange of the users' credentials as it happens, starting
   * with the state of every user (CHANGE_KIND_INITIAL), or with what changed
   * after request.resumeToken (a change's resumeToken from an earlier watch;
   * CHANGE_KIND_RESYNC snapshots when the server no longer knows it):
   *   for await (const change of client.watchCredentials({leafUserIds: [...]})) ...
   *
   * When a stream ends with a retriable status (UNAVAILABLE: a server shutting
   * down or rebalancing, a broken connection; see rewatch.js) it watches the
   * same users again with the resumeToken of the last change it yielded, after
   * a backoff (100 ms doubling to 10 s, or the server's RetryInfo), and goes on
   * yielding: for ever, or at most options.maxRewatches times in a row without
   * a change (0: never). options.onRewatch(details, delayMs, attempt) is
   * called before each wait. Each change carries its own resumeToken: keep the
   * last one to continue later.
   *
   * No deadline unless options.timeoutMs (per stream); leaving the loop
   * cancels the stream. Throws AgLeaderError when a stream ends for good.
   * options.policy overrides the backoff's figures and clock (rewatch.js).
   */
  async *watchCredentials(request, options = {}) {
    const rewatcher = new Rewatcher(options.maxRewatches, options.policy);
    const { now, sleep } = rewatcher.policy;
    const next = { ...request, resumeToken: request.resumeToken || '' };
    for (;;) {
      const callOptions = options.timeoutMs
        ? { deadline: new Date(Date.now() + options.timeoutMs) }
        : {};
      const started = now();
      const call = this.stub.WatchCredentials(next, this.metadata, callOptions);
      let details;
      let delayMs;
      try {
        for await (const change of call) {
          rewatcher.onChange();
          // A server without resume support sends none: keep the last one.
          if (change.resumeToken) next.resumeToken = change.resumeToken;
          yield change;
        }
        return;
      } catch (error) {
        if (error.code === undefined) throw error;
        details = decodeError(error);
        delayMs = rewatcher.onEnd(details, now() - started);
        if (delayMs === null) throw new AgLeaderError(details, error);
      } finally {
        call.on('error', () => {}); // the CANCELLED that cancel() causes
        call.cancel();
      }
      if (options.onRewatch) options.onRewatch(details, delayMs, rewatcher.attempts);
      await sleep(delayMs);
    }
  }

  /**
   * {leafUserId, returnUrl?, ttl?} -> ConnectLink {name, leafUserId, url, state,
   * createTime, expireTime, ...}: a URL to send the grower to, where they
   * re-authorize AgLeader and the server attaches the credentials itself (the
   * grower's refresh token never passes through the caller). ttl: seconds (a
   * number) or a Duration {seconds, nanos}, 1 minute to 30 days; default: the
   * server's --connect_link_ttl. Follow it with getConnectLink or watchCredentials.
   */
  createConnectLink({ leafUserId, returnUrl = '', ttl } = {}) {
    const request = { leafUserId, returnUrl };
    if (typeof ttl === 'number') {
      const seconds = Math.floor(ttl);
      request.ttl = { seconds, nanos: Math.round((ttl - seconds) * 1e9) };
    } else if (ttl) {
      request.ttl = ttl;
    }
    return this.call('CreateConnectLink', request);
  }

  /**
   * {name: 'connectLinks/ID'} -> ConnectLink, with its state (PENDING, CONNECTED
   * with credentialsId, DENIED, FAILED with error, EXPIRED). AgLeaderError
   * NOT_FOUND (CONNECT_LINK_NOT_FOUND) for a name the server does not know.
   */
  getConnectLink({ name }) {
    return this.call('GetConnectLink', { name });
  }

  /** Every event, newest first, following nextPageToken. */
  async *iterCredentialEvents({ leafUserId, pageSize = 0 }) {
    let pageToken = '';
    do {
      const page = await this.listCredentialEvents({ leafUserId, pageSize, pageToken });
      yield* page.events;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }
}

module.exports = {
  AgLeaderClient,
  AgLeaderError,
  decodeError,
  decodeResultError,
  isRetriable,
  loadServiceConfig,
  readApiKeyFile,
  tlsCredentials,
  toProto3Json,
  ERROR_DOMAIN,
  grpc,
};
