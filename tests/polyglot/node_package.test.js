'use strict';
// The npm package installed from its tarball in an empty folder outside the
// repository (see node_package_test.sh): the agleader-client bin against the
// real server (create / get / events / delete, an error decoded, canonical
// proto3 JSON, --help), TLS with API keys and mutual TLS; and the library
// loading its bundled .proto files and service config.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const APP = process.env.AGLEADER_NODE_APP;
const BIN = path.join(APP, 'node_modules', '.bin', 'agleader-client');
const E = process.env;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

function cli(target, args, env = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AGLEADER_CLIENT_')),
  );
  const r = spawnSync(BIN, ['--server', target, ...args], {
    cwd: APP,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 30000,
  });
  assert.equal(r.error, undefined, String(r.error));
  assert.ok(!(r.stdout + r.stderr).includes(E.AGLEADER_TEST_API_KEY), 'the API key was printed');
  return r;
}

test('the package is installed outside the repository, with its protos and config', () => {
  const root = path.join(APP, 'node_modules', 'agleader-credentials-client');
  assert.ok(fs.existsSync(path.join(root, 'bundle', 'leaf', 'agleader', 'v1')));
  const lib = require(root);
  const shipped = fs.readFileSync(E.AGLEADER_TEST_SHIPPED_SERVICE_CONFIG, 'utf8');
  assert.equal(lib.loadServiceConfig(), shipped);
});

test('--help prints usage and exits 0', () => {
  const r = cli(E.AGLEADER_TARGET, ['--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /--api_key_file/);
  assert.equal(cli(E.AGLEADER_TARGET, ['frobnicate']).status, 2);
});

test('create / get / events / delete print canonical proto3 JSON', () => {
  const user = crypto.randomUUID();
  const secrets = {
    AGLEADER_CLIENT_REFRESH_TOKEN: 'node-refresh-token-4321',
    AGLEADER_CLIENT_PRIVATE_KEY: 'node-private-key-8765',
  };
  let r = cli(E.AGLEADER_TARGET, ['create', '--leaf_user_id', user, '--public_key', 'pk'], secrets);
  assert.equal(r.status, 0, r.stderr);
  let json = JSON.parse(r.stdout);
  assert.equal(json.leafUserId, user);
  assert.equal(json.status, 'CREDENTIAL_STATUS_OK');
  assert.match(json.createTime, RFC3339);
  assert.equal(json.refreshTokenHint, '****4321');
  assert.ok(!('accessTokenHint' in json), r.stdout); // empty: left out, as grpcurl does
  assert.ok(!r.stdout.includes(secrets.AGLEADER_CLIENT_PRIVATE_KEY));

  r = cli(E.AGLEADER_TARGET, ['get', '--leaf_user_id', user]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).name, `users/${user}/agLeaderCredentials`);

  r = cli(E.AGLEADER_TARGET, ['events', '--leaf_user_id', user, '--all']);
  assert.equal(r.status, 0, r.stderr);
  json = JSON.parse(r.stdout);
  assert.ok(json.events.length >= 1, r.stdout);
  assert.match(json.events[0].createTime, RFC3339);
  assert.ok(!('nextPageToken' in json), r.stdout);

  r = cli(E.AGLEADER_TARGET, ['delete', '--leaf_user_id', user]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {});
});

test('an error is decoded: code, ErrorInfo and its metadata', () => {
  const r = cli(E.AGLEADER_TARGET, ['get', '--leaf_user_id', crypto.randomUUID()]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: NOT_FOUND \(5\):/);
  assert.match(r.stderr, /reason: CREDENTIALS_NOT_FOUND \(domain leaf\.agleader\.v1\)/);
  assert.match(r.stderr, /leaf_http_status=404/);
});

function deleteArgs() {
  return ['delete', '--leaf_user_id', crypto.randomUUID(), '--allow_missing'];
}

test('TLS with an API key, from flags and from the environment twins', () => {
  const tls = E.AGLEADER_TLS_TARGET;
  let r = cli(tls, ['--ca_file', E.AGLEADER_TEST_CA, '--api_key_file', E.AGLEADER_TEST_API_KEY_FILE,
    ...deleteArgs()]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(tls, ['--ca_file', E.AGLEADER_TEST_CA, '--server_name', 'localhost', '--api_key',
    E.AGLEADER_TEST_API_KEY, ...deleteArgs()]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(tls, deleteArgs(), {
    AGLEADER_CLIENT_TLS: 'true',
    AGLEADER_CLIENT_TLS_CA_FILE: E.AGLEADER_TEST_CA,
    AGLEADER_CLIENT_SERVER_NAME: 'localhost',
    AGLEADER_CLIENT_API_KEY_FILE: E.AGLEADER_TEST_API_KEY_FILE,
  });
  assert.equal(r.status, 0, r.stderr);
  r = cli(tls, deleteArgs(), {
    AGLEADER_CLIENT_TLS_CA_FILE: E.AGLEADER_TEST_CA,
    AGLEADER_CLIENT_API_KEY: E.AGLEADER_TEST_API_KEY,
  });
  assert.equal(r.status, 0, r.stderr);

  r = cli(tls, ['--ca_file', E.AGLEADER_TEST_CA, ...deleteArgs()]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: UNAUTHENTICATED \(16\)/);
  r = cli(tls, ['--api_key', E.AGLEADER_TEST_API_KEY, '--timeout_ms', '3000', ...deleteArgs()]);
  assert.equal(r.status, 1); // plaintext to a TLS port
  assert.match(r.stderr, /UNAVAILABLE/);
});

test('mutual TLS, and bad TLS flags are usage errors', () => {
  const mtls = E.AGLEADER_MTLS_TARGET;
  let r = cli(mtls, ['--ca_file', E.AGLEADER_TEST_CA, '--cert_file', E.AGLEADER_TEST_CLIENT_CERT,
    '--key_file', E.AGLEADER_TEST_CLIENT_KEY, ...deleteArgs()]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(mtls, deleteArgs(), {
    AGLEADER_CLIENT_TLS_CA_FILE: E.AGLEADER_TEST_CA,
    AGLEADER_CLIENT_CERT_FILE: E.AGLEADER_TEST_CLIENT_CERT,
    AGLEADER_CLIENT_KEY_FILE: E.AGLEADER_TEST_CLIENT_KEY,
  });
  assert.equal(r.status, 0, r.stderr);
  r = cli(mtls, ['--ca_file', E.AGLEADER_TEST_CA, '--timeout_ms', '3000', ...deleteArgs()]);
  assert.equal(r.status, 1); // no client certificate

  r = cli(mtls, ['--ca_file', E.AGLEADER_TEST_CA, '--cert_file', E.AGLEADER_TEST_CLIENT_CERT,
    ...deleteArgs()]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /needs both --cert_file and --key_file/);
  r = cli(mtls, ['--ca_file', E.AGLEADER_TEST_CLIENT_KEY, ...deleteArgs()]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /holds no PEM certificate/);
});
