'use strict';
// Tests of the Node.js client against a running server (and the Leaf emulator
// behind it). Run by //tests/polyglot:node_client_test, which starts both and
// sets AGLEADER_TARGET (host:port of the server) and LEAF_EMULATOR_URL. By hand:
//   AGLEADER_TARGET=127.0.0.1:50051 LEAF_EMULATOR_URL=http://127.0.0.1:8080 \
//       node --test client/node/

const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const {
  AgLeaderClient,
  AgLeaderError,
  decodeError,
  decodeResultError,
  grpc,
  loadServiceConfig,
} = require('./agleader_client');

const TARGET = process.env.AGLEADER_TARGET || '';
const EMULATOR_URL = process.env.LEAF_EMULATOR_URL || '';
const REFRESH_TOKEN = 'node-refresh-token-4321';
const PRIVATE_KEY = 'node-private-key-8765';
const CLI = path.join(__dirname, 'cli.js');

const newUser = () => crypto.randomUUID();

async function addFault(fault) {
  const response = await fetch(`${EMULATOR_URL}/_emulator/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(fault),
  });
  assert.equal(response.status, 200);
}

// Makes the emulator delay its next answer about `user`.
const slowLeaf = (user, latencyMs) =>
  addFault({ kind: 'latency_only', path_contains: user, times: 1, latency_ms: latencyMs });

async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail('expected the call to fail');
}

describe('AgLeaderClient', { skip: !TARGET || !EMULATOR_URL }, () => {
  let client;
  before(() => {
    client = new AgLeaderClient(TARGET, { timeoutMs: 10000 });
  });
  after(() => client.close());

  const create = (leafUserId) =>
    client.createCredentials({
      leafUserId,
      refreshToken: REFRESH_TOKEN,
      publicKey: 'node-public-key',
      privateKey: PRIVATE_KEY,
    });

  test('create, get, list events and delete round trip', async () => {
    const user = newUser();
    const created = await create(user);
    assert.equal(created.leafUserId, user);
    assert.equal(created.name, `users/${user}/agLeaderCredentials`);
    assert.equal(created.status, 'CREDENTIAL_STATUS_OK');
    assert.equal(created.refreshTokenHint, '****4321');
    assert.equal(created.privateKeyHint, '****8765');
    assert.equal(created.refreshToken, ''); // basic view: no secret values
    assert.ok(!JSON.stringify(created).includes(REFRESH_TOKEN));

    const got = await client.getCredentials({ leafUserId: user });
    assert.equal(got.id, created.id);
    assert.equal(got.publicKey, 'node-public-key');
    assert.ok(Number(got.createTime.seconds) > 0);

    const page = await client.listCredentialEvents({ leafUserId: user, pageSize: 1 });
    assert.equal(page.events.length, 1);
    assert.ok(page.events[0].name.startsWith(`users/${user}/agLeaderCredentials/events/`));
    const all = [];
    for await (const event of client.iterCredentialEvents({ leafUserId: user, pageSize: 1 })) {
      all.push(event);
    }
    assert.ok(all.length >= 1);
    assert.equal(all[0].id, page.events[0].id);

    assert.deepEqual(await client.deleteCredentials({ leafUserId: user }), {});
    const e = await rejection(client.getCredentials({ leafUserId: user }));
    assert.equal(e.code, grpc.status.NOT_FOUND);
  });

  test('listCredentials and batchGetCredentials over seeded users', async () => {
    const seeded = await fetch(`${EMULATOR_URL}/_emulator/seed`, {
      method: 'POST',
      body: JSON.stringify({ users: 10, mix: { MISSING_PERMISSION: 1 }, seed: 7 }),
    });
    assert.deepEqual((await seeded.json()).counts, { MISSING_PERMISSION: 10 });
    const listed = [];
    for await (const c of client.iterCredentials({
      pageSize: 4,
      statuses: ['CREDENTIAL_STATUS_MISSING_PERMISSION'],
    })) {
      listed.push(c);
    }
    assert.ok(listed.length >= 10);
    for (const c of listed) {
      assert.equal(c.status, 'CREDENTIAL_STATUS_MISSING_PERMISSION');
      assert.equal(c.refreshToken, '');
    }
    const ids = listed.slice(0, 2).map((c) => c.leafUserId);
    const missing = newUser();
    const results = await client.batchGetCredentials({ leafUserIds: [...ids, missing] });
    assert.deepEqual(results.map((r) => r.leafUserId), [...ids, missing]);
    assert.equal(results[0].result, 'credentials');
    assert.equal(results[0].credentials.leafStatus, 'MISSING_PERMISSION');
    assert.equal(results[2].result, 'error');
    const details = decodeResultError(results[2].error);
    assert.equal(details.code, grpc.status.NOT_FOUND);
    assert.equal(details.reason, 'CREDENTIALS_NOT_FOUND');
    assert.equal(details.metadata.leaf_user_id, missing);
  });

  test('missing credentials decode to NOT_FOUND with ErrorInfo', async () => {
    const user = newUser();
    const e = await rejection(client.getCredentials({ leafUserId: user }));
    assert.ok(e instanceof AgLeaderError);
    assert.equal(e.code, grpc.status.NOT_FOUND);
    assert.equal(e.codeName, 'NOT_FOUND');
    assert.equal(e.reason, 'CREDENTIALS_NOT_FOUND');
    assert.equal(e.domain, 'leaf.agleader.v1');
    assert.equal(e.metadata.leaf_http_status, '404');
    assert.equal(e.metadata.leaf_user_id, user);
    assert.ok(e.cause.metadata.get('grpc-status-details-bin').length === 1);
  });

  test('decodeError reads the status details of a raw grpc-js error', async () => {
    const raw = await new Promise((resolve) => {
      client.stub.DeleteCredentials(
        { leafUserId: newUser() },
        { deadline: new Date(Date.now() + 10000) },
        (error) => resolve(error),
      );
    });
    const details = decodeError(raw);
    assert.equal(details.codeName, 'NOT_FOUND');
    assert.equal(details.reason, 'CREDENTIALS_NOT_FOUND');
  });

  test('watchCredentials starts with the state of every user', async () => {
    const user = newUser();
    const other = newUser();
    const created = await create(user);
    const first = {};
    for await (const change of client.watchCredentials(
      { leafUserIds: [user, other] },
      { timeoutMs: 10000 },
    )) {
      first[change.leafUserId] = change;
      if (Object.keys(first).length === 2) break; // cancels the stream
    }
    assert.equal(first[user].kind, 'CHANGE_KIND_INITIAL');
    assert.equal(first[user].current.id, created.id);
    assert.equal(first[user].current.refreshToken, ''); // basic view
    assert.equal(first[other].current, null);
  });

  test('watchCredentials with a bad id throws INVALID_ARGUMENT', async () => {
    const watch = client.watchCredentials({ leafUserIds: ['not-a-uuid'] }, { timeoutMs: 10000 });
    const e = await rejection(watch.next());
    assert.equal(e.codeName, 'INVALID_ARGUMENT');
    assert.deepEqual(
      e.fieldViolations.map((v) => v.field),
      ['leaf_user_ids[0]'],
    );
  });

  test('invalid user id decodes a field violation', async () => {
    const e = await rejection(client.getCredentials({ leafUserId: 'not-a-uuid' }));
    assert.equal(e.codeName, 'INVALID_ARGUMENT');
    assert.equal(e.reason, 'INVALID_REQUEST');
    assert.deepEqual(
      e.fieldViolations.map((v) => v.field),
      ['leaf_user_id'],
    );
  });

  test('rate limit decodes RetryInfo', async () => {
    const user = newUser();
    await addFault({
      kind: 'status',
      status: 429,
      headers: { 'Retry-After': '7' },
      path_contains: user,
      times: 1,
    });
    const e = await rejection(client.getCredentials({ leafUserId: user }));
    assert.equal(e.codeName, 'RESOURCE_EXHAUSTED');
    assert.equal(e.reason, 'LEAF_RATE_LIMITED');
    assert.equal(e.retryDelaySeconds, 7);
  });

  test('delete with allowMissing succeeds without credentials', async () => {
    assert.deepEqual(
      await client.deleteCredentials({ leafUserId: newUser(), allowMissing: true }),
      {},
    );
  });

  test(
    'API key is sent as bearer authorization',
    { skip: !process.env.AGLEADER_KEYED_TARGET },
    async () => {
      const keyed = process.env.AGLEADER_KEYED_TARGET;
      const anonymous = new AgLeaderClient(keyed, { apiKey: '' });
      const withKey = new AgLeaderClient(keyed, { apiKey: process.env.AGLEADER_TEST_API_KEY });
      try {
        const e = await rejection(
          anonymous.deleteCredentials({ leafUserId: newUser(), allowMissing: true }),
        );
        assert.equal(e.codeName, 'UNAUTHENTICATED');
        assert.deepEqual(
          await withKey.deleteCredentials({ leafUserId: newUser(), allowMissing: true }),
          {},
        );
      } finally {
        anonymous.close();
        withKey.close();
      }
    },
  );

  test('service config file is applied to the channel', async () => {
    // Leaf (the emulator) answers this user after 300 ms; the service config's
    // method timeout is 50 ms. Only a channel that loaded the file fails the
    // call with DEADLINE_EXCEEDED despite the client's 10 s.
    const user = newUser();
    await slowLeaf(user, 300);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sc-')), 'service_config.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        methodConfig: [
          { name: [{ service: 'leaf.agleader.v1.AgLeaderCredentials' }], timeout: '0.05s' },
        ],
      }),
    );
    const configured = new AgLeaderClient(TARGET, { timeoutMs: 10000, serviceConfig: file });
    try {
      const e = await rejection(configured.getCredentials({ leafUserId: user }));
      assert.equal(e.codeName, 'DEADLINE_EXCEEDED');
    } finally {
      configured.close();
    }
  });
});

describe('loadServiceConfig', () => {
  test('the shipped client/service_config.json is the default', (t) => {
    const shipped = path.join(__dirname, '..', 'service_config.json');
    if (!fs.existsSync(shipped))
      return t.skip('client/service_config.json is not in this checkout');
    const saved = process.env.AGLEADER_CLIENT_SERVICE_CONFIG;
    delete process.env.AGLEADER_CLIENT_SERVICE_CONFIG;
    try {
      assert.equal(loadServiceConfig(), fs.readFileSync(shipped, 'utf8'));
    } finally {
      if (saved !== undefined) process.env.AGLEADER_CLIENT_SERVICE_CONFIG = saved;
    }
    return undefined;
  });

  test('an explicit file wins over the environment', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sc-'));
    fs.writeFileSync(path.join(dir, 'env.json'), '{"methodConfig": []}');
    fs.writeFileSync(
      path.join(dir, 'explicit.json'),
      '{"loadBalancingConfig": [{"round_robin": {}}]}',
    );
    process.env.AGLEADER_CLIENT_SERVICE_CONFIG = path.join(dir, 'env.json');
    try {
      assert.match(loadServiceConfig(), /methodConfig/);
      assert.match(loadServiceConfig(path.join(dir, 'explicit.json')), /round_robin/);
      assert.equal(loadServiceConfig('none'), null);
    } finally {
      delete process.env.AGLEADER_CLIENT_SERVICE_CONFIG;
    }
  });
});

describe('cli.js', { skip: !TARGET }, () => {
  const cli = (args, env = {}) =>
    spawnSync(process.execPath, [CLI, '--server', TARGET, ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30000,
    });

  test('creates from env secrets, lists and deletes, printing JSON', () => {
    const user = newUser();
    let r = cli(['create', '--leaf_user_id', user, '--public_key', 'cli-pk'], {
      AGLEADER_CLIENT_REFRESH_TOKEN: REFRESH_TOKEN,
      AGLEADER_CLIENT_PRIVATE_KEY: PRIVATE_KEY,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.leafUserId, user);
    assert.equal(out.refreshTokenHint, '****4321');
    assert.ok(!(r.stdout + r.stderr).includes(REFRESH_TOKEN));
    assert.ok(!(r.stdout + r.stderr).includes(PRIVATE_KEY));

    r = cli(['events', '--leaf_user_id', user, '--all']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).events.length >= 1);

    r = cli(['delete', '--leaf_user_id', user]);
    assert.equal(r.status, 0, r.stderr);
  });

  test('prints ErrorInfo and exits 1', () => {
    const r = cli(['get', '--leaf_user_id', newUser()]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: NOT_FOUND \(5\): /);
    assert.match(r.stderr, /reason: CREDENTIALS_NOT_FOUND \(domain leaf\.agleader\.v1\)/);
    assert.match(r.stderr, /leaf_http_status=404/);
  });

  test('refuses an unknown command with exit 2', () => {
    const r = cli(['bogus']);
    assert.equal(r.status, 2);
  });
});
