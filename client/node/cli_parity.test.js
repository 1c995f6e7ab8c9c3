'use strict';
// createConnectLink()/getConnectLink() and the CLI's commands at parity with the
// C++ client (list, batch-get, watch, audit --links, connect, get-link), against
// a fake @grpc/grpc-js server on 127.0.0.1 in this process; the CLI runs as a
// child process (node cli.js), as a user runs it. For an end-to-end run, point
// --server at the real server: the CLI cases only read what it prints.
// Run by //client/node:cli_parity_test.

const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFile } = require('child_process');
const { test, before, after, beforeEach } = require('node:test');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const { AgLeaderClient, AgLeaderError, grpc } = require('./agleader_client');

const REPO = path.resolve(__dirname, '..', '..');
const RPC_ROOT = path.join(REPO, 'third_party', 'googleapis');
const USER = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const REAUTH = '00000000-0000-4000-8000-000000000001';
const DENIED = '00000000-0000-4000-8000-000000000002';
const OK_USER = '00000000-0000-4000-8000-000000000003';
const API_KEY = 'api-key-SECRET-0123456789abcdef';

const definition = protoLoader.loadSync('leaf/agleader/v1/agleader_credentials.proto', {
  keepCase: false, longs: String, enums: String, defaults: true, oneofs: true,
  includeDirs: [path.join(REPO, 'proto'), RPC_ROOT],
});
const service =
  grpc.loadPackageDefinition(definition).leaf.agleader.v1.AgLeaderCredentials.service;
const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, target) => path.join(RPC_ROOT, target);
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });

/** A refusal with the service's ErrorInfo in grpc-status-details-bin. */
function refusal(code, reason) {
  const info = rpc.lookupType('google.rpc.ErrorInfo').encode({ reason, domain: 'leaf.agleader.v1' });
  const status = { code, message: `refused: ${reason}`,
    details: [{ type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value: info.finish() }] };
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin',
    Buffer.from(rpc.lookupType('google.rpc.Status').encode(status).finish()));
  return { code, details: status.message, metadata };
}

const fake = {};
let server;
let target;
let client;
let usersFile;

function credentials(leafUserId, status) {
  return { leafUserId, status, leafStatus: 'x', refreshTokenHint: '…ab' };
}

before(async () => {
  server = new grpc.Server();
  server.addService(service, {
    CreateConnectLink(call, callback) {
      fake.creates.push(call.request);
      fake.authorization = call.metadata.get('authorization')[0];
      if (call.request.leafUserId === fake.refuseUser) {
        return callback(refusal(grpc.status.FAILED_PRECONDITION, 'CONNECT_NOT_CONFIGURED'));
      }
      const n = fake.creates.length;
      return callback(null, {
        name: `connectLinks/L${n}`, leafUserId: call.request.leafUserId,
        url: `https://connect.example.com/connect/L${n}${fake.urlSuffix}`, state: 'PENDING',
        expireTime: { seconds: 1797206400, nanos: 0 },
      });
    },
    GetConnectLink(call, callback) {
      if (call.request.name !== 'connectLinks/L1') {
        return callback(refusal(grpc.status.NOT_FOUND, 'CONNECT_LINK_NOT_FOUND'));
      }
      return callback(null, { name: call.request.name, state: 'CONNECTED', credentialsId: 'c7' });
    },
    BatchGetCredentials(call, callback) {
      const status = (id) => ({ [OK_USER]: 'CREDENTIAL_STATUS_OK',
        [DENIED]: 'CREDENTIAL_STATUS_MISSING_PERMISSION' }[id] || 'CREDENTIAL_STATUS_UNAUTHENTICATED');
      callback(null, { results: call.request.leafUserIds.map((id) => ({
        leafUserId: id, credentials: credentials(id, status(id)) })) });
    },
    ListCredentials(call, callback) {
      if (!call.request.pageToken) {
        return callback(null, { credentials: [credentials(REAUTH, 'CREDENTIAL_STATUS_UNAUTHENTICATED')],
          nextPageToken: 'p2' });
      }
      return callback(null, { credentials: [credentials(OK_USER, 'CREDENTIAL_STATUS_OK')] });
    },
    WatchCredentials(call) {
      call.request.leafUserIds.forEach((id, i) => call.write(
        { leafUserId: id, kind: 'CHANGE_KIND_INITIAL', resumeToken: `t${i}` }));
      call.end();
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p)));
  target = `127.0.0.1:${port}`;
  client = new AgLeaderClient(target, { serviceConfig: 'none', apiKey: '' });
  const dir = fs.mkdtempSync(path.join(process.env.TEST_TMPDIR || os.tmpdir(), 'users-'));
  usersFile = path.join(dir, 'users.txt');
  fs.writeFileSync(usersFile, `# growers\n${REAUTH}\n\n${DENIED}\n${OK_USER}\n`);
});

after(() => {
  client.close();
  server.forceShutdown();
});

beforeEach(() => {
  Object.assign(fake, { creates: [], refuseUser: null, urlSuffix: '', authorization: undefined });
});

/** {code, out, err} of `node cli.js --server <fake> ...args`. */
function cli(...args) {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH };
    execFile(process.execPath,
      [path.join(__dirname, 'cli.js'), '--server', target, '--service_config', 'none', ...args],
      { env, timeout: 20000 }, (error, out, err) =>
        resolve({ code: error ? error.code : 0, out, err }));
  });
}

test('createConnectLink and getConnectLink', async () => {
  const link = await client.createConnectLink({ leafUserId: USER, returnUrl: 'https://a.example/x',
    ttl: 2 * 86400 });
  assert.equal(link.name, 'connectLinks/L1');
  assert.equal(link.state, 'PENDING');
  assert.equal(Number(fake.creates[0].ttl.seconds), 2 * 86400);
  assert.equal(fake.creates[0].returnUrl, 'https://a.example/x');
  await client.createConnectLink({ leafUserId: USER });
  assert.equal(fake.creates[1].ttl, null);
  const got = await client.getConnectLink({ name: 'connectLinks/L1' });
  assert.equal(got.state, 'CONNECTED');
  assert.equal(got.credentialsId, 'c7');
});

test('connect-link errors are decoded', async () => {
  fake.refuseUser = USER;
  await assert.rejects(client.createConnectLink({ leafUserId: USER }), (e) =>
    e instanceof AgLeaderError && e.codeName === 'FAILED_PRECONDITION' &&
    e.reason === 'CONNECT_NOT_CONFIGURED');
  await assert.rejects(client.getConnectLink({ name: 'connectLinks/nope' }), (e) =>
    e instanceof AgLeaderError && e.reason === 'CONNECT_LINK_NOT_FOUND');
});

test('connect prints the link as JSON; --qr prints the URL', async () => {
  const r = await cli('--api_key', API_KEY, 'connect', '--leaf_user_id', USER, '--ttl', '7d', '--qr');
  assert.equal(r.code, 0, r.err);
  const link = JSON.parse(r.out);
  assert.equal(link.url, 'https://connect.example.com/connect/L1');
  assert.equal(link.expireTime, '2026-12-14T00:00:00Z');
  assert.equal(Number(fake.creates[0].ttl.seconds), 7 * 86400);
  assert.equal(fake.authorization, `Bearer ${API_KEY}`);
  assert.match(r.err, /https:\/\/connect\.example\.com\/connect\/L1/);
  assert.ok(!(r.out + r.err).includes(API_KEY));
});

test('usage errors reach no server', async () => {
  for (const args of [
    ['connect', '--leaf_user_id', USER, '--ttl', '31d'],
    ['connect', '--leaf_user_id', USER, '--ttl', '30s'],
    ['connect', '--leaf_user_id', USER, '--ttl', 'soon'],
    ['connect'],
    ['get-link', '--name', 'L1'],
    ['audit', '--ttl', '7d'],
    ['audit', '--chunk_size', '0'],
  ]) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
  }
  assert.deepEqual(fake.creates, []);
});

test('get-link', async () => {
  let r = await cli('get-link', '--name', 'connectLinks/L1');
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).state, 'CONNECTED');
  r = await cli('get-link', '--name', 'connectLinks/nope');
  assert.equal(r.code, 1);
  assert.match(r.err, /reason: CONNECT_LINK_NOT_FOUND/);
});

test('list and batch-get', async () => {
  let r = await cli('list', '--all');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).credentials.map((c) => c.leafUserId), [REAUTH, OK_USER]);
  r = await cli('batch-get', '--leaf_user_id', OK_USER, '--leaf_user_id', DENIED);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out).results.map((x) => x.leafUserId), [OK_USER, DENIED]);
});

test('watch prints one JSON object per line', async () => {
  const r = await cli('watch', '--leaf_user_id', USER, '--leaf_user_id', OK_USER,
    '--max_rewatch_attempts', '0');
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((c) => c.leafUserId), [USER, OK_USER]);
  assert.equal(lines[1].resumeToken, 't1');
});

test('audit --links: the table has a link or the row\'s failure', async () => {
  fake.refuseUser = DENIED;
  const r = await cli('audit', '--users', usersFile, '--links', '--ttl', '3d');
  assert.equal(r.code, 3, r.err);
  const lines = r.out.split('\n');
  assert.match(lines[0], /CONNECT LINK/);
  assert.ok(lines[1].startsWith(REAUTH) && lines[1].endsWith('https://connect.example.com/connect/L1'), lines[1]);
  assert.ok(lines[2].endsWith('error: CONNECT_NOT_CONFIGURED'), lines[2]);
  assert.ok(lines[3].startsWith(OK_USER) && lines[3].endsWith('-'), lines[3]);
  assert.match(r.out, /1 connect links created, 1 could not be created/);
  assert.deepEqual(fake.creates.map((c) => c.leafUserId), [REAUTH, DENIED]);
  assert.equal(Number(fake.creates[0].ttl.seconds), 3 * 86400);
});

test('audit --links: CSV and JSON lines, hostile URLs kept in their cell', async () => {
  fake.refuseUser = DENIED;
  fake.urlSuffix = '",=cmd\n';
  let r = await cli('audit', '--users', usersFile, '--csv', '--links');
  assert.equal(r.code, 3, r.err);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, 4, r.out); // no injected row
  assert.ok(lines[0].endsWith(',connect_link,connect_link_name,connect_link_error'));
  assert.ok(lines[1].includes(',connectLinks/L1,'), lines[1]);
  assert.ok(lines[2].endsWith(',,,CONNECT_NOT_CONFIGURED'), lines[2]);
  assert.ok(lines[3].endsWith(',,,'), lines[3]);

  r = await cli('--json', 'audit', '--users', usersFile, '--links');
  assert.equal(r.code, 3, r.err);
  const rows = r.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows[0].connectLinkName, 'connectLinks/L3');
  assert.equal(rows[1].connectLinkError, 'CONNECT_NOT_CONFIGURED');
  assert.equal(rows[2].status, 'OK');
  assert.match(r.err, /summary:/);
});

test('audit of every user, without links', async () => {
  const r = await cli('audit', '--csv');
  assert.equal(r.code, 3, r.err);
  assert.ok(!r.out.includes('connect_link'));
  assert.equal(r.out.trim().split('\n').length, 3);
  assert.deepEqual(fake.creates, []);
});
