#!/usr/bin/env node
'use strict';
// Command-line example of the Node.js client of leaf.agleader.v1.AgLeaderCredentials.
//
//   node cli.js [--server HOST:PORT] [--timeout_ms N] [--service_config FILE] COMMAND [flags]
//     create --leaf_user_id ID --public_key K   secrets from $AGLEADER_CLIENT_REFRESH_TOKEN,
//                                               $AGLEADER_CLIENT_PRIVATE_KEY (and optionally
//                                               $AGLEADER_CLIENT_ACCESS_TOKEN), or the flags
//     get    --leaf_user_id ID [--view basic|full]
//     events --leaf_user_id ID [--page_size N] [--page_token T] [--all]
//     delete --leaf_user_id ID [--allow_missing]
//   $AGLEADER_CLIENT_API_KEY, if set, is sent as "authorization: Bearer <key>".
//
// Prints responses as JSON; on an error prints "error: CODE (n): message" and
// the decoded ErrorInfo to stderr and exits 1 (2 for a usage error).

const { parseArgs } = require('util');
const { AgLeaderClient, AgLeaderError } = require('./agleader_client');

const VIEWS = { basic: 'CREDENTIALS_VIEW_BASIC', full: 'CREDENTIALS_VIEW_FULL' };
const COMMANDS = ['create', 'get', 'events', 'delete'];

function usage(message) {
  process.stderr.write(`usage error: ${message}\n`);
  process.exit(2);
}

async function run(command, v, client) {
  const leafUserId = v.leaf_user_id || usage('--leaf_user_id is required');
  const view = VIEWS[v.view || 'basic'] || usage('--view must be basic or full');
  const env = process.env;
  switch (command) {
    case 'create':
      return client.createCredentials({
        leafUserId,
        publicKey: v.public_key || usage('--public_key is required'),
        refreshToken: v.refresh_token ?? env.AGLEADER_CLIENT_REFRESH_TOKEN ?? '',
        privateKey: v.private_key ?? env.AGLEADER_CLIENT_PRIVATE_KEY ?? '',
        accessToken: v.access_token ?? env.AGLEADER_CLIENT_ACCESS_TOKEN ?? '',
        view,
      });
    case 'get':
      return client.getCredentials({ leafUserId, view });
    case 'events': {
      const pageSize = Number(v.page_size || 0);
      if (!v.all) {
        return client.listCredentialEvents({ leafUserId, pageSize, pageToken: v.page_token || '' });
      }
      const events = [];
      for await (const event of client.iterCredentialEvents({ leafUserId, pageSize })) {
        events.push(event);
      }
      return { events, nextPageToken: '' };
    }
    case 'delete':
      return client.deleteCredentials({ leafUserId, allowMissing: Boolean(v.allow_missing) });
    default:
      throw new Error(`unknown command ${command}`);
  }
}

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        server: {
          type: 'string',
          default: process.env.AGLEADER_CLIENT_SERVER || '127.0.0.1:50051',
        },
        timeout_ms: { type: 'string', default: process.env.AGLEADER_CLIENT_TIMEOUT_MS || '10000' },
        service_config: { type: 'string' },
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
  } catch (e) {
    return usage(e.message);
  }
  const { values: v, positionals } = parsed;
  if (positionals.length !== 1 || !COMMANDS.includes(positionals[0])) {
    usage(`expected one command: ${COMMANDS.join(', ')}`);
  }
  const client = new AgLeaderClient(v.server, {
    timeoutMs: Number(v.timeout_ms),
    serviceConfig: v.service_config,
  });
  try {
    const response = await run(positionals[0], v, client);
    process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof AgLeaderError)) throw e;
    const lines = [`error: ${e.codeName} (${e.code}): ${e.message}`];
    if (e.reason) lines.push(`  reason: ${e.reason} (domain ${e.domain})`);
    for (const key of Object.keys(e.metadata).sort()) lines.push(`  ${key}=${e.metadata[key]}`);
    for (const fv of e.fieldViolations) lines.push(`  field ${fv.field}: ${fv.description}`);
    if (e.retryDelaySeconds !== null) lines.push(`  retry after: ${e.retryDelaySeconds}s`);
    process.stderr.write(`${lines.join('\n')}\n`);
    return 1;
  } finally {
    client.close();
  }
}

main().then((code) => {
  process.exitCode = code;
});
