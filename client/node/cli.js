#!/usr/bin/env node
'use strict';
// agleader-client: the command line of the Node.js client of
// leaf.agleader.v1.AgLeaderCredentials. Usage: see USAGE, or --help.
//
// Prints responses as canonical proto3 JSON (camelCase, RFC 3339 timestamps,
// enum names, no default values), like grpcurl and the C++ client's --json;
// on an error prints "error: CODE (n): message" and the decoded ErrorInfo to
// stderr and exits 1 (2 for a usage error).

const { parseArgs } = require('util');
const {
  AgLeaderClient,
  AgLeaderError,
  readApiKeyFile,
  tlsCredentials,
  toProto3Json,
} = require('./agleader_client');

const fs = require('fs');
const { runAudit } = require('./audit');

const VIEWS = { basic: 'CREDENTIALS_VIEW_BASIC', full: 'CREDENTIALS_VIEW_FULL' };
const COMMANDS = [
  'create', 'get', 'events', 'delete', 'list', 'batch-get', 'watch', 'audit', 'connect',
  'get-link',
];
const STATUSES = ['OK', 'UNAUTHENTICATED', 'MISSING_PERMISSION', 'TEMPORARILY_UNAVAILABLE'];
const USAGE = `usage: agleader-client [--server HOST:PORT] [--timeout_ms N] [--service_config FILE]
         [--tls] [--ca_file PEM] [--cert_file PEM --key_file PEM] [--server_name NAME]
         [--api_key_file FILE | --api_key KEY] COMMAND [flags]
  create --leaf_user_id ID --public_key K   secrets from $AGLEADER_CLIENT_REFRESH_TOKEN,
                                            $AGLEADER_CLIENT_PRIVATE_KEY (and optionally
                                            $AGLEADER_CLIENT_ACCESS_TOKEN), or the flags
  get    --leaf_user_id ID [--view basic|full]
  events --leaf_user_id ID [--page_size N] [--page_token T] [--all]
  delete --leaf_user_id ID [--allow_missing]
  list   [--page_size N] [--page_token T] [--all] [--status S ...] [--view basic|full]
  batch-get --leaf_user_id ID [--leaf_user_id ID ...] [--view basic|full]
  watch  --leaf_user_id ID [--leaf_user_id ID ...] [--view basic|full]
         [--resume_token T] [--max_rewatch_attempts N]   one JSON object per line
  audit  [--users FILE|-] [--csv] [--chunk_size N] [--max_rate_limited_waits N]
         [--links [--return_url URL] [--ttl 7d]]         exit 3: some must re-authorize
  connect --leaf_user_id ID [--return_url URL] [--ttl 7d] [--qr]
  get-link --name connectLinks/ID [--qr]

The command names and flags are the C++ client's; list and batch-get are this
client's own (ListCredentials, BatchGetCredentials). --json: audit prints JSON lines
instead of the table (every other command prints JSON). --qr: this client has no QR
code library (it adds no dependency for one), so it prints the URL alone, on stderr;
the C++ client's connect --qr draws the code.

Connection flags, as the C++ client's (environment variable in brackets):
  --server          host:port [AGLEADER_CLIENT_SERVER] (default 127.0.0.1:50051)
  --service_config  gRPC service config JSON file; default: the shipped one (retries
                    Get/List/Delete on UNAVAILABLE); "none" for none
  --tls             TLS, verifying the server against --ca_file, else the default roots;
                    implied by --ca_file, --cert_file, --key_file, --server_name
                    [AGLEADER_CLIENT_TLS]
  --ca_file         PEM CA bundle that signed the server's certificate
                    [AGLEADER_CLIENT_TLS_CA_FILE]
  --cert_file       PEM client certificate chain, mutual TLS [AGLEADER_CLIENT_CERT_FILE]
  --key_file        PEM private key of --cert_file [AGLEADER_CLIENT_KEY_FILE]
  --server_name     name the server's certificate must carry [AGLEADER_CLIENT_SERVER_NAME]
  --api_key_file    file holding the API key (its one line not blank or a # comment)
                    [AGLEADER_CLIENT_API_KEY_FILE]
  --api_key         API key (secret: prefer the file or $AGLEADER_CLIENT_API_KEY)
API key, highest precedence first: --api_key; --api_key_file; $AGLEADER_CLIENT_API_KEY.
It is sent as "authorization: Bearer <key>" and never printed.

Exit status: 0 success, 1 the call failed (error on stderr), 2 usage error; audit: 3
some credentials need re-authorization and nothing failed.
`;
const TRUE = ['1', 'true', 'yes', 'on'];

class UsageError extends Error {}

function usage(message) {
  throw new UsageError(message);
}

/** --ttl as the C++ client reads it: days ("7d") or h/m/s ("36h", "90m"), 1m to 30d. */
function parseTtl(text) {
  if (text === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)(d|h|m|s)$/.exec(text);
  if (!match) usage(`--ttl=${JSON.stringify(text)} is not a duration: e.g. 7d, 36h or 90m`);
  const seconds = Number(match[1]) * { d: 86400, h: 3600, m: 60, s: 1 }[match[2]];
  if (seconds < 60 || seconds > 30 * 86400) usage(`--ttl=${text} is out of range: 1m to 30d`);
  return seconds;
}

function int(text, flag, min, max, fallback) {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) usage(`--${flag} must be ${min} to ${max}`);
  return n;
}

/** One id a line, blank lines and # comments skipped, as the C++ client's --users. */
function readUsers(file) {
  let text;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    return usage(`--users: cannot read "${file}": ${e.code || e.message}`);
  }
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

function printLink(link, qr) {
  if (qr) {
    process.stderr.write(`(no QR code: this client has no QR library) ${link.url}\n`);
  }
  return toProto3Json('leaf.agleader.v1.ConnectLink', link);
}

function writeLine(text) {
  process.stdout.write(text);
}

// Commands that take no single --leaf_user_id, or print as they go (null: done).
async function runMore(command, v, client, view) {
  switch (command) {
    case 'list': {
      const pageSize = int(v.page_size, 'page_size', 0, 1000, 0);
      const statuses = (v.status || []).map((s) => (STATUSES.includes(s)
        ? `CREDENTIAL_STATUS_${s}` : usage(`--status must be one of ${STATUSES.join(', ')}`)));
      if (!v.all) {
        return toProto3Json('leaf.agleader.v1.ListCredentialsResponse',
          await client.listCredentials({ pageSize, pageToken: v.page_token || '', statuses, view }));
      }
      const credentials = [];
      for await (const c of client.iterCredentials({ pageSize, statuses, view })) {
        credentials.push(c);
      }
      return toProto3Json('leaf.agleader.v1.ListCredentialsResponse', { credentials });
    }
    case 'batch-get': {
      const leafUserIds = v.leaf_user_id || usage('--leaf_user_id is required');
      const results = await client.batchGetCredentials({ leafUserIds, view });
      return toProto3Json('leaf.agleader.v1.BatchGetCredentialsResponse', { results });
    }
    case 'watch': {
      const leafUserIds = v.leaf_user_id || usage('--leaf_user_id is required');
      const attempts = int(v.max_rewatch_attempts, 'max_rewatch_attempts', -1, 1000000, -1);
      const changes = client.watchCredentials(
        { leafUserIds, view, resumeToken: v.resume_token || '' },
        {
          maxRewatches: attempts < 0 ? undefined : attempts,
          onRewatch: (d, delayMs, n) => process.stderr.write(
            `watch: the stream ended (${d.codeName}); watching again in ${(delayMs / 1000).toFixed(1)}s (attempt ${n})\n`),
        },
      );
      for await (const change of changes) {
        writeLine(`${JSON.stringify(toProto3Json('leaf.agleader.v1.CredentialsChange', change))}\n`);
      }
      return null;
    }
    case 'audit': {
      if (!v.links && (v.return_url !== undefined || v.ttl !== undefined)) {
        usage('--return_url and --ttl of audit need --links');
      }
      const options = {
        format: v.json ? 'json' : v.csv ? 'csv' : 'table',
        links: Boolean(v.links),
        returnUrl: v.return_url || '',
        ttl: parseTtl(v.ttl),
        chunkSize: int(v.chunk_size, 'chunk_size', 1, 500, 100),
        maxRateLimitedWaits: int(v.max_rate_limited_waits, 'max_rate_limited_waits', 0, 1000, 30),
        write: writeLine,
        note: (text) => process.stderr.write(text),
      };
      const users = v.users ? readUsers(v.users) : null;
      process.exitCode = await runAudit(client, users, options);
      return null;
    }
    case 'get-link': {
      const name = v.name || usage('--name is required');
      if (!name.startsWith('connectLinks/') || name === 'connectLinks/') {
        usage('--name must be connectLinks/ID, as connect printed it');
      }
      return printLink(await client.getConnectLink({ name }), v.qr);
    }
    default:
      return usage(`unknown command ${command}`);
  }
}

async function run(command, v, client) {
  const view = VIEWS[v.view || 'basic'] || usage('--view must be basic or full');
  if (!['create', 'get', 'events', 'delete', 'connect'].includes(command)) {
    return runMore(command, v, client, view);
  }
  const ids = v.leaf_user_id || usage('--leaf_user_id is required');
  if (ids.length !== 1) usage(`${command} takes one --leaf_user_id`);
  const leafUserId = ids[0];
  const env = process.env;
  switch (command) {
    case 'connect': {
      const ttl = parseTtl(v.ttl);
      return printLink(
        await client.createConnectLink({ leafUserId, returnUrl: v.return_url || '', ttl }), v.qr);
    }
    case 'create':
      return toProto3Json(
        'leaf.agleader.v1.Credentials',
        await client.createCredentials({
          leafUserId,
          publicKey: v.public_key || usage('--public_key is required'),
          refreshToken: v.refresh_token ?? env.AGLEADER_CLIENT_REFRESH_TOKEN ?? '',
          privateKey: v.private_key ?? env.AGLEADER_CLIENT_PRIVATE_KEY ?? '',
          accessToken: v.access_token ?? env.AGLEADER_CLIENT_ACCESS_TOKEN ?? '',
          view,
        }),
      );
    case 'get':
      return toProto3Json(
        'leaf.agleader.v1.Credentials',
        await client.getCredentials({ leafUserId, view }),
      );
    case 'events': {
      const pageSize = Number(v.page_size || 0);
      let page;
      if (!v.all) {
        page = await client.listCredentialEvents({
          leafUserId,
          pageSize,
          pageToken: v.page_token || '',
        });
      } else {
        const events = [];
        for await (const event of client.iterCredentialEvents({ leafUserId, pageSize })) {
          events.push(event);
        }
        page = { events, nextPageToken: '' };
      }
      return toProto3Json('leaf.agleader.v1.ListCredentialEventsResponse', page);
    }
    case 'delete':
      await client.deleteCredentials({ leafUserId, allowMissing: Boolean(v.allow_missing) });
      return {};
    default:
      return usage(`unknown command ${command}`);
  }
}

function parse(argv) {
  const env = process.env;
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      server: { type: 'string', default: env.AGLEADER_CLIENT_SERVER || '127.0.0.1:50051' },
      timeout_ms: { type: 'string', default: env.AGLEADER_CLIENT_TIMEOUT_MS || '10000' },
      service_config: { type: 'string' },
      tls: { type: 'boolean', default: TRUE.includes((env.AGLEADER_CLIENT_TLS || '').toLowerCase()) },
      ca_file: { type: 'string', default: env.AGLEADER_CLIENT_TLS_CA_FILE },
      cert_file: { type: 'string', default: env.AGLEADER_CLIENT_CERT_FILE },
      key_file: { type: 'string', default: env.AGLEADER_CLIENT_KEY_FILE },
      server_name: { type: 'string', default: env.AGLEADER_CLIENT_SERVER_NAME },
      api_key: { type: 'string' },
      api_key_file: { type: 'string' },
      json: { type: 'boolean' },
      leaf_user_id: { type: 'string', multiple: true },
      status: { type: 'string', multiple: true },
      resume_token: { type: 'string' },
      max_rewatch_attempts: { type: 'string' },
      users: { type: 'string' },
      csv: { type: 'boolean' },
      chunk_size: { type: 'string' },
      max_rate_limited_waits: { type: 'string' },
      links: { type: 'boolean' },
      return_url: { type: 'string' },
      ttl: { type: 'string' },
      qr: { type: 'boolean' },
      name: { type: 'string' },
      public_key: { type: 'string' },
      refresh_token: { type: 'string' },
      private_key: { type: 'string' },
      access_token: { type: 'string' },
      view: { type: 'string' },
      page_size: { type: 'string' },
      page_token: { type: 'string' },
      all: { type: 'boolean' },
      allow_missing: { type: 'boolean' },
    },
  });
  return { v, positionals };
}

// The client the connection flags describe; a bad flag or file is a usage error.
function connect(v) {
  if (v.api_key !== undefined && v.api_key_file !== undefined) {
    usage('give --api_key or --api_key_file, not both');
  }
  let apiKey;
  try {
    if (v.api_key !== undefined) apiKey = v.api_key;
    else if (v.api_key_file || process.env.AGLEADER_CLIENT_API_KEY_FILE) {
      apiKey = readApiKeyFile(v.api_key_file || process.env.AGLEADER_CLIENT_API_KEY_FILE);
    } else apiKey = process.env.AGLEADER_CLIENT_API_KEY || '';
    if (!/^[\x21-\x7e]*$/.test(apiKey)) {
      usage('the API key must be printable ASCII without spaces');
    }
    const tls = v.tls || v.ca_file || v.cert_file || v.key_file || v.server_name;
    return new AgLeaderClient(v.server, {
      timeoutMs: Number(v.timeout_ms),
      serviceConfig: v.service_config,
      apiKey,
      serverName: v.server_name,
      credentials: tls
        ? tlsCredentials({ caFile: v.ca_file, certFile: v.cert_file, keyFile: v.key_file })
        : undefined,
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(e.message);
  }
}

function printError(e) {
  const lines = [`error: ${e.codeName} (${e.code}): ${e.message}`];
  if (e.reason) lines.push(`  reason: ${e.reason} (domain ${e.domain})`);
  for (const key of Object.keys(e.metadata).sort()) lines.push(`  ${key}=${e.metadata[key]}`);
  for (const fv of e.fieldViolations) lines.push(`  field ${fv.field}: ${fv.description}`);
  if (e.retryDelaySeconds !== null) lines.push(`  retry after: ${e.retryDelaySeconds}s`);
  process.stderr.write(`${lines.join('\n')}\n`);
}

async function main() {
  let client;
  try {
    const { v, positionals } = parse(process.argv.slice(2));
    if (v.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (positionals.length !== 1 || !COMMANDS.includes(positionals[0])) {
      usage(`expected one command: ${COMMANDS.join(', ')}`);
    }
    if (positionals[0] === 'connect' || positionals[0] === 'audit') parseTtl(v.ttl);
    client = connect(v);
    const response = await run(positionals[0], v, client);
    if (response === null) return process.exitCode || 0;
    process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof AgLeaderError) {
      printError(e);
      return 1;
    }
    if (e instanceof UsageError || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
        (e.code && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`usage error: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  } finally {
    if (client) client.close();
  }
}

main().then((code) => {
  process.exitCode = code;
});
