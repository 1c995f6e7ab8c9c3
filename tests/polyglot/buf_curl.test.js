'use strict';
// The service driven by a third-party command-line client, `buf curl`, the way
// a person at a terminal would use grpcurl: no .proto files, the schema comes
// from server reflection (v1alpha: what gRPC 1.51 serves), JSON in, JSON out.
// Run by buf_curl_test.sh, which starts the server and the Leaf emulator and
// sets AGLEADER_TARGET, BUF and NODE_DIR.

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const { test } = require('node:test');

const TARGET = process.env.AGLEADER_TARGET;
const BUF = process.env.BUF;
const REPO = path.resolve(process.env.NODE_DIR, '..', '..');
const protobuf = require(path.join(process.env.NODE_DIR, 'node_modules', 'protobufjs'));

const SERVICE = 'leaf.agleader.v1.AgLeaderCredentials';
const BASE = `http://${TARGET}`;
const COMMON = ['--protocol', 'grpc', '--http2-prior-knowledge'];
// The server speaks both; most tests use v1alpha, which every grpcurl knows.
const REFLECT_PROTOCOLS = ['grpc-v1', 'grpc-v1alpha'];

function bufCurl(args, reflectProtocol = 'grpc-v1alpha') {
  const r = spawnSync(BUF, ['curl', ...COMMON, '--reflect-protocol', reflectProtocol, ...args], {
    encoding: 'utf8',
    timeout: 30000,
  });
  assert.equal(r.error, undefined, String(r.error));
  return r;
}

// Calls SERVICE/method with `body` as JSON; returns {status, json, stdout,
// stderr}. `json` is the response (stdout), or for a failed RPC the error
// (buf curl prints it on stderr as {code, message, details}).
function call(method, body) {
  const r = bufCurl(['-d', JSON.stringify(body), `${BASE}/${SERVICE}/${method}`]);
  let json = null;
  try {
    json = JSON.parse(r.status === 0 ? r.stdout : r.stderr);
  } catch (e) {
    // left null: the assertions below show the output
  }
  return { status: r.status, json, stdout: r.stdout, stderr: r.stderr };
}

// buf curl prints error details it has no schema for (google.rpc.* is not
// reachable through the service's reflection) as base64; decode ErrorInfo.
function errorInfo(errorJson) {
  const root = new protobuf.Root();
  root.resolvePath = (_o, t) => path.join(REPO, 'third_party', 'googleapis', t);
  root.loadSync('google/rpc/error_details.proto');
  const ErrorInfo = root.lookupType('google.rpc.ErrorInfo');
  const detail = errorJson.details.find((d) => d.type === 'google.rpc.ErrorInfo');
  assert.ok(detail, JSON.stringify(errorJson));
  return ErrorInfo.toObject(ErrorInfo.decode(Buffer.from(detail.value, 'base64')));
}

test('lists the services through reflection v1 and v1alpha', () => {
  for (const protocol of REFLECT_PROTOCOLS) {
    const r = bufCurl(['--list-services', BASE], protocol);
    assert.equal(r.status, 0, r.stderr);
    const services = r.stdout.trim().split('\n');
    assert.ok(services.includes(SERVICE), r.stdout);
    assert.ok(services.includes('grpc.health.v1.Health'), r.stdout);
    assert.ok(services.includes('grpc.reflection.v1.ServerReflection'), r.stdout);
    assert.ok(services.includes('grpc.reflection.v1alpha.ServerReflection'), r.stdout);
  }
});

test('prints camelCase JSON (json_name from reflection) over v1 and v1alpha', () => {
  for (const protocol of REFLECT_PROTOCOLS) {
    const leafUserId = crypto.randomUUID();
    const r = bufCurl(
      [
        '-d',
        JSON.stringify({
          leafUserId,
          refreshToken: 'rt-123456789012',
          publicKey: 'pk',
          privateKey: 'sk-123456789012',
        }),
        `${BASE}/${SERVICE}/CreateCredentials`,
      ],
      protocol,
    );
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const json = JSON.parse(r.stdout);
    assert.equal(json.leafUserId, leafUserId, r.stdout);
    assert.ok('createTime' in json, r.stdout);
    assert.ok(!('leaf_user_id' in json) && !('create_time' in json), r.stdout);
  }
});

test('calls every RPC with JSON input', () => {
  const leafUserId = crypto.randomUUID();

  let r = call('CreateCredentials', {
    leafUserId,
    refreshToken: 'buf-refresh-token-0001',
    publicKey: 'buf-public-key',
    privateKey: 'buf-private-key-0002',
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.json.leafUserId, leafUserId);
  assert.equal(r.json.status, 'CREDENTIAL_STATUS_OK');
  assert.equal(r.json.refreshTokenHint, '****0001');
  assert.match(r.json.createTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.ok(!r.stdout.includes('buf-refresh-token-0001'));

  r = call('GetCredentials', { leafUserId, view: 'CREDENTIALS_VIEW_BASIC' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(r.json.name, `users/${leafUserId}/agLeaderCredentials`);
  assert.equal(r.json.publicKey, 'buf-public-key');

  r = call('ListCredentialEvents', { leafUserId, pageSize: 20 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.ok(r.json.events.length >= 1, r.stdout);
  assert.ok(r.json.events[0].name.startsWith(`users/${leafUserId}/agLeaderCredentials/events/`));

  r = call('DeleteCredentials', { leafUserId });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.deepEqual(r.json, {});

  r = call('DeleteCredentials', { leafUserId, allowMissing: true });
  assert.equal(r.status, 0, r.stderr + r.stdout);
});

test('an error shows its code and an ErrorInfo', () => {
  const leafUserId = crypto.randomUUID();
  const r = call('GetCredentials', { leafUserId });
  // buf curl exits with 8 x the gRPC code for a failed RPC: NOT_FOUND (5) -> 40.
  assert.equal(r.status, 40, r.stderr + r.stdout);
  assert.equal(r.json.code, 'not_found');
  const info = errorInfo(r.json);
  assert.equal(info.reason, 'CREDENTIALS_NOT_FOUND');
  assert.equal(info.domain, 'leaf.agleader.v1');
  assert.equal(info.metadata.leaf_http_status, '404');
});

test('a bad request is refused with INVALID_ARGUMENT', () => {
  const r = call('ListCredentialEvents', { leafUserId: 'not-a-uuid', pageSize: 1000 });
  assert.equal(r.status, 8 * 3, r.stderr + r.stdout);
  assert.equal(r.json.code, 'invalid_argument');
  assert.equal(errorInfo(r.json).reason, 'INVALID_REQUEST');
});

test('the schema from reflection rejects a misspelled field', () => {
  const r = call('GetCredentials', { leafUserID: crypto.randomUUID() });
  assert.ok(r.status > 0 && r.status < 8, `usage error expected: ${r.status} ${r.stderr}`);
  assert.match(r.stderr, /leafUserID/);
});

test('checks health described by reflection, no schema file, over v1 and v1alpha', () => {
  for (const protocol of REFLECT_PROTOCOLS) {
    for (const service of ['', SERVICE]) {
      const r = bufCurl(
        ['-d', JSON.stringify({ service }), `${BASE}/grpc.health.v1.Health/Check`],
        protocol,
      );
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { status: 'SERVING' });
    }
  }
});
