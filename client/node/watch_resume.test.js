'use strict';
// watchCredentials() across stream ends, against a fake @grpc/grpc-js server in
// this process that plays a script per stream (changes, then a status): the
// next stream asks for the same users and view with the last change's
// resumeToken, only retriable ends are watched again, RetryInfo and the limit
// are honoured. Sleep, clock and jitter are replaced: nothing really waits.
// Run by //client/node:watch_resume_test.

const assert = require('node:assert/strict');
const path = require('path');
const { test, before, after, beforeEach } = require('node:test');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const { AgLeaderClient, AgLeaderError, isRetriable, grpc } = require('./agleader_client');
const { Rewatcher } = require('./rewatch');

const REPO = path.resolve(__dirname, '..', '..');
const RPC_ROOT = path.join(REPO, 'third_party', 'googleapis');
const USER = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const OTHER = '0b0e8a52-1c2d-4e3f-8a9b-123456789abc';

const definition = protoLoader.loadSync('leaf/agleader/v1/agleader_credentials.proto', {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [path.join(REPO, 'proto'), RPC_ROOT],
});
const service =
  grpc.loadPackageDefinition(definition).leaf.agleader.v1.AgLeaderCredentials.service;

const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, target) => path.join(RPC_ROOT, target);
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });

function change(resumeToken, kind = 'CHANGE_KIND_STATUS_CHANGED') {
  return { leafUserId: USER, kind, current: { id: 'cred-1', leafStatus: 'OK' }, resumeToken };
}

/** A stream's end: a grpc-js status; with details, a google.rpc.Status in its trailers. */
function status(code, details, { reason, retrySeconds } = {}) {
  const end = { code, details };
  if (reason === undefined && retrySeconds === undefined) return end;
  const any = (type, value) => ({
    type_url: `type.googleapis.com/${type}`,
    value: rpc.lookupType(type).encode(value).finish(),
  });
  const anys = [];
  if (reason !== undefined) anys.push(any('google.rpc.ErrorInfo', { reason, domain: 'x' }));
  if (retrySeconds !== undefined) {
    anys.push(any('google.rpc.RetryInfo', { retry_delay: { seconds: retrySeconds, nanos: 0 } }));
  }
  const rpcStatus = { code, message: details, details: anys };
  end.metadata = new grpc.Metadata();
  end.metadata.set(
    'grpc-status-details-bin',
    Buffer.from(rpc.lookupType('google.rpc.Status').encode(rpcStatus).finish()),
  );
  return end;
}

const SHUTTING_DOWN = status(grpc.status.UNAVAILABLE, 'shutting down', { reason: 'SHUTTING_DOWN' });
const INVALID = status(grpc.status.INVALID_ARGUMENT, 'bad users', { reason: 'INVALID_REQUEST' });
const QUIET = { changes: [], end: SHUTTING_DOWN };

// The fake: script[n] is the n-th stream ({changes, end, lastsMs}); past the
// script every stream ends FAILED_PRECONDITION.
const fake = { script: [], requests: [] };
const clock = { now: 1000000, sleeps: [] };
let server;
let client;

before(async () => {
  server = new grpc.Server();
  server.addService(service, {
    WatchCredentials(call) {
      const n = fake.requests.length;
      fake.requests.push(call.request);
      const stream = fake.script[n] || {
        changes: [],
        end: status(grpc.status.FAILED_PRECONDITION, 'script over'),
      };
      for (const c of stream.changes) call.write(c);
      clock.now += stream.lastsMs || 0;
      call.emit('error', stream.end);
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  client = new AgLeaderClient(`127.0.0.1:${port}`, { serviceConfig: 'none', apiKey: '' });
});

after(() => {
  client.close();
  server.forceShutdown();
});

beforeEach(() => {
  fake.script = [];
  fake.requests = [];
  clock.sleeps = [];
});

const policy = {
  now: () => clock.now,
  sleep: async (ms) => {
    clock.sleeps.push(ms);
    clock.now += ms;
  },
  random: () => 0.999999,
};

/** {changes, error, notes}: what the watch yielded and the AgLeaderError that ended it. */
async function watch(request = {}, options = {}) {
  const changes = [];
  const notes = [];
  let error = null;
  try {
    for await (const c of client.watchCredentials(
      { leafUserIds: [USER, OTHER], ...request },
      { policy, timeoutMs: 10000, onRewatch: (...note) => notes.push(note), ...options },
    )) {
      changes.push(c);
    }
  } catch (e) {
    assert.ok(e instanceof AgLeaderError, e);
    error = e;
  }
  return { changes, error, notes };
}

test('watches again from the last change’s token', async () => {
  fake.script = [
    { changes: [change('t1', 'CHANGE_KIND_INITIAL'), change('t2')], end: SHUTTING_DOWN },
    { changes: [change('t3', 'CHANGE_KIND_RESYNC')], end: INVALID },
  ];
  const { changes, error, notes } = await watch({ view: 'CREDENTIALS_VIEW_FULL' });
  assert.deepEqual(
    changes.map((c) => c.resumeToken),
    ['t1', 't2', 't3'],
  );
  assert.equal(changes[2].kind, 'CHANGE_KIND_RESYNC'); // passed on as such
  assert.deepEqual(
    fake.requests.map((r) => r.resumeToken),
    ['', 't2'],
  );
  for (const r of fake.requests) {
    assert.deepEqual(r.leafUserIds, [USER, OTHER]);
    assert.equal(r.view, 'CREDENTIALS_VIEW_FULL');
  }
  assert.equal(error.codeName, 'INVALID_ARGUMENT');
  assert.equal(clock.sleeps.length, 1);
  assert.ok(clock.sleeps[0] >= 50 && clock.sleeps[0] <= 100, String(clock.sleeps));
  const [details, delayMs, attempt] = notes[0];
  assert.deepEqual([details.codeName, details.reason, delayMs, attempt], [
    'UNAVAILABLE',
    'SHUTTING_DOWN',
    clock.sleeps[0],
    1,
  ]);
});

test('starts from the given token and keeps it when changes carry none', async () => {
  fake.script = [
    { changes: [], end: status(grpc.status.UNAVAILABLE, 'Socket closed') },
    { changes: [change('', 'CHANGE_KIND_INITIAL')], end: SHUTTING_DOWN },
    { changes: [change('t9')], end: SHUTTING_DOWN },
    { changes: [], end: INVALID },
  ];
  const { changes } = await watch({ resumeToken: 't0' });
  assert.deepEqual(
    fake.requests.map((r) => r.resumeToken),
    ['t0', 't0', 't0', 't9'],
  );
  assert.equal(changes.length, 2);
});

test('a stream cut without the service’s status is watched again', async () => {
  fake.script = [
    { changes: [change('t1')], end: status(grpc.status.INTERNAL, 'Received RST_STREAM') },
    { changes: [], end: status(grpc.status.INTERNAL, 'broken', { reason: 'INTERNAL' }) },
  ];
  const { error } = await watch();
  assert.equal(fake.requests.length, 2);
  assert.equal(fake.requests[1].resumeToken, 't1');
  assert.deepEqual([error.codeName, error.reason], ['INTERNAL', 'INTERNAL']);
});

test('non-retriable ends stop at once', async () => {
  const codes = ['INVALID_ARGUMENT', 'PERMISSION_DENIED', 'UNAUTHENTICATED', 'RESOURCE_EXHAUSTED'];
  for (const code of codes) {
    fake.requests = [];
    fake.script = [
      { changes: [change('t1')], end: status(grpc.status[code], 'no', { reason: 'NOPE' }) },
      QUIET,
    ];
    const { changes, error } = await watch();
    assert.equal(error.codeName, code);
    assert.equal(changes.length, 1, code);
    assert.equal(fake.requests.length, 1, code);
    assert.deepEqual(clock.sleeps, [], code);
  }
});

test('waits what the RetryInfo asks', async () => {
  fake.script = [
    {
      changes: [change('t1')],
      end: status(grpc.status.RESOURCE_EXHAUSTED, 'budget', {
        reason: 'LEAF_RATE_LIMITED',
        retrySeconds: 3,
      }),
    },
    { changes: [], end: INVALID },
  ];
  await watch();
  assert.equal(fake.requests[1].resumeToken, 't1');
  assert.deepEqual(clock.sleeps, [3000]);
});

test('gives up after the limit of attempts in a row', async () => {
  fake.script = Array(10).fill(QUIET);
  const { error } = await watch({}, { maxRewatches: 3 });
  assert.equal(error.codeName, 'UNAVAILABLE');
  assert.equal(fake.requests.length, 4); // the first stream and 3 re-watches
  assert.equal(clock.sleeps.length, 3);
  for (let i = 1; i < clock.sleeps.length; i++) {
    assert.ok(clock.sleeps[i] > clock.sleeps[i - 1] * 1.9, String(clock.sleeps)); // backing off
  }
});

test('zero never watches again', async () => {
  fake.script = [{ changes: [change('t1')], end: SHUTTING_DOWN }, QUIET];
  const { error } = await watch({}, { maxRewatches: 0 });
  assert.equal(error.reason, 'SHUTTING_DOWN');
  assert.equal(fake.requests.length, 1);
  assert.deepEqual(clock.sleeps, []);
});

test('a change or a long quiet stream starts the count over', async () => {
  fake.script = [
    QUIET,
    QUIET,
    { changes: [change('t1')], end: SHUTTING_DOWN },
    QUIET,
    { changes: [], end: SHUTTING_DOWN, lastsMs: 120000 }, // e.g. --max_connection_age
    QUIET,
    QUIET,
    QUIET,
  ];
  await watch({}, { maxRewatches: 2 });
  // 2 re-watches; a change: 1 more; the long one: 2 more; then the limit.
  assert.equal(fake.requests.length, 7);
  const s = clock.sleeps;
  assert.equal(s.length, 6);
  assert.ok(s[2] < s[1], String(s));
  assert.ok(s[4] < s[3], String(s));
});

test('leaving the loop cancels without watching again', async () => {
  fake.script = [{ changes: [change('t1'), change('t2')], end: SHUTTING_DOWN }];
  for await (const c of client.watchCredentials({ leafUserIds: [USER] }, { policy })) {
    assert.equal(c.resumeToken, 't1');
    break;
  }
  assert.equal(fake.requests.length, 1);
  assert.deepEqual(clock.sleeps, []);
});

test('a bad limit is refused', async () => {
  await assert.rejects(
    client.watchCredentials({ leafUserIds: [USER] }, { maxRewatches: -1 }).next(),
    RangeError,
  );
});

test('classification and backoff', () => {
  const d = (code, extra = {}) => ({
    code: grpc.status[code],
    reason: '',
    retryDelaySeconds: null,
    ...extra,
  });
  assert.ok(isRetriable(d('UNAVAILABLE')));
  assert.ok(isRetriable(d('UNKNOWN')));
  assert.ok(!isRetriable(d('UNKNOWN', { reason: 'X' })));
  assert.ok(!isRetriable(d('RESOURCE_EXHAUSTED')));
  assert.ok(isRetriable(d('RESOURCE_EXHAUSTED', { retryDelaySeconds: 1 })));
  for (const code of ['DEADLINE_EXCEEDED', 'CANCELLED', 'PERMISSION_DENIED', 'NOT_FOUND', 'OK']) {
    assert.ok(!isRetriable(d(code)), code);
  }
  const r = new Rewatcher(null, { random: () => 0 });
  const delays = Array.from({ length: 10 }, () => r.onEnd(d('UNAVAILABLE'), 0));
  assert.deepEqual(delays, [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  assert.equal(new Rewatcher(null).onEnd(d('UNAVAILABLE', { retryDelaySeconds: 7200 }), 0), 60000);
});
