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

const VIEWS = { basic: 'CREDENTIALS_VIEW_BASIC', full: 'CREDENTIALS_VIEW_FULL' };
const COMMANDS = ['create', 'get', 'events', 'delete'];
const USAGE = `usage: agleader-client [--server HOST:PORT] [--timeout_ms N] [--service_config FILE]
         [--tls] [--ca_file PEM] [--cert_file PEM --key_file PEM] [--server_name NAME]
         [--api_key_file FILE | --api_key KEY] COMMAND [flags]
  create --leaf_user_id ID --public_key K   secrets from $AGLEADER_CLIENT_REFRESH_TOKEN,
                                            $AGLEADER_CLIENT_PRIVATE_KEY (and optionally
                                            $AGLEADER_CLIENT_ACCESS_TOKEN), or the flags
  get    --leaf_user_id ID [--view basic|full]
  events --leaf_user_id ID [--page_size N] [--page_token T] [--all]
  delete --leaf_user_id ID [--allow_missing]

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

Exit status: 0 success, 1 the call failed (error on stderr), 2 usage error.
`;
const TRUE = ['1', 'true', 'yes', 'on'];

class UsageError extends Error {}

function usage(message) {
  throw new UsageError(message);
}

async function run(command, v, client) {
  const leafUserId = v.leaf_user_id || usage('--leaf_user_id is required');
  const view = VIEWS[v.view || 'basic'] || usage('--view must be basic or full');
  const env = process.env;
  switch (command) {
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
      leaf_user_id: { type: 'string' },
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
    client = connect(v);
    const response = await run(positionals[0], v, client);
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
