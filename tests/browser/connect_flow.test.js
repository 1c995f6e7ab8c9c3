'use strict';
// The connect-link flow (docs/connect.md) walked by a grower in headless
// Chromium, through the real server, its pages and the emulator playing Leaf
// and AgFiniti, each its own process (started by connect_browser_test.sh):
// the lifecycle (connected, revoked at AgFiniti, re-authorized through a new
// link, Watch and GetConnectLink following), Deny, an expired link, a
// replayed callback, a tampered state, a return URL outside the allow list,
// a return URL inside it. Every secret of the flow (the codes, the refresh
// tokens, the private key) is then looked for in every log, page and
// response the tests saw. Screenshots of the three pages go to
// $SCREENSHOT_DIR when set (docs/connect/).

const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { test, before, after } = require('node:test');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through connect_browser_test.sh)`);
  return v;
};

const NODE_MODULES = env('CLIENT_NODE_MODULES');
const grpc = require(path.join(NODE_MODULES, '@grpc/grpc-js'));
const protoLoader = require(path.join(NODE_MODULES, '@grpc/proto-loader'));
const { chromium } = require(path.join(env('BROWSER_NODE_MODULES'), 'playwright-core'));

const TARGET = env('AGLEADER_TARGET');
const CONNECT_URL = env('CONNECT_PUBLIC_URL');
const EMULATOR_URL = env('LEAF_EMULATOR_URL');
const PRIVATE_KEY = env('AGLEADER_TEST_PRIVATE_KEY');
const LOG_FILES = env('SCAN_LOG_FILES').split(':');
const RETURN_BASE = env('CONNECT_RETURN_BASE'); // allowed prefix, e.g. http://127.0.0.1:9/app/
const SCREENSHOTS = process.env.SCREENSHOT_DIR || '';
const GROWER = { username: 'grower.one@example.com', password: 'grower-one-password' };
const USER = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const USER_DENY = '0b0e8a52-1c2d-4e3f-8a9b-123456789abc';
const USER_EXPIRE = '5e1f6a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
const USER_RETURN = '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d';

const definition = protoLoader.loadSync('leaf/agleader/v1/agleader_credentials.proto', {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [env('PROTO_DIR'), env('RPC_PROTO_DIR'), env('WKT_PROTO_DIR')],
});
const Service = grpc.loadPackageDefinition(definition).leaf.agleader.v1.AgLeaderCredentials;
const client = new Service(TARGET, grpc.credentials.createInsecure());

// Everything the tests saw: scanned for secrets at the end.
const seen = [];
const secrets = new Set([PRIVATE_KEY]);

function call(method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 15000 }, (err, response) => {
      seen.push(JSON.stringify(err ? { code: err.code, details: err.details } : response));
      if (err) reject(err);
      else resolve(response);
    });
  });
}

async function emulator(method, pathname, body) {
  const res = await fetch(EMULATOR_URL + pathname, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${pathname}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A watch stream's changes, in arrival order. */
function watch(users) {
  const changes = [];
  const waiters = [];
  const stream = client.WatchCredentials({ leafUserIds: users });
  stream.on('data', (c) => {
    seen.push(JSON.stringify(c));
    changes.push(c);
    for (const w of waiters.splice(0)) w();
  });
  stream.on('error', () => {});
  return {
    changes,
    async until(pred, what, ms = 20000) {
      const end = Date.now() + ms;
      for (;;) {
        const hit = changes.find(pred);
        if (hit) return hit;
        const left = end - Date.now();
        assert.ok(left > 0, `timed out waiting for ${what}; got ${JSON.stringify(changes)}`);
        await new Promise((r) => {
          waiters.push(r);
          setTimeout(r, Math.min(left, 500));
        });
      }
    },
    cancel: () => stream.cancel(),
  };
}

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});
after(async () => {
  if (browser) await browser.close();
  client.close();
});

/** A fresh browser (its own cookies) that records every answer and the callback URL. */
async function grower() {
  const context = await browser.newContext({ viewport: { width: 420, height: 860 } });
  const page = await context.newPage();
  const callbacks = [];
  page.on('request', (r) => {
    if (r.url().startsWith(CONNECT_URL + '/agleader/callback')) callbacks.push(r.url());
  });
  page.on('response', async (r) => {
    // The service's answers only: AgFiniti's own redirect rightly carries the code.
    if (!r.url().startsWith(CONNECT_URL)) return;
    const headers = JSON.stringify(await r.allHeaders().catch(() => ({})));
    const body = await r.text().catch(() => '');
    seen.push(headers, body);
  });
  return { context, page, callbacks };
}

async function shot(page, name) {
  if (!SCREENSHOTS) return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true });
}

/** Opens the link, presses Connect, signs in to AgFiniti; leaves the consent page open. */
async function toConsent(page, url, { screenshots = false } = {}) {
  await page.goto(url);
  if (screenshots) await shot(page, 'connect-page.png');
  await Promise.all([page.waitForURL(/\/agfiniti\//), page.click('#connect')]);
  await page.fill('#username', GROWER.username);
  await page.fill('#password', GROWER.password);
  await Promise.all([page.waitForLoadState('load'), page.click('#sign-in')]);
  await page.waitForSelector('#allow');
  if (screenshots) await shot(page, 'agfiniti-consent.png');
}

function codeOf(callbackUrl) {
  const u = new URL(callbackUrl);
  return { code: u.searchParams.get('code'), state: u.searchParams.get('state') };
}

async function storedRefreshToken(user) {
  const stored = await emulator('GET', `/_emulator/users/${user}/credentials`);
  const token = stored.refreshToken || (stored.credentials && stored.credentials.refreshToken);
  assert.ok(token, `the emulator holds no refresh token for ${user}: ${JSON.stringify(stored)}`);
  return token;
}

// The expired link is made first and opened last, after its one minute.
let expiring;
test('an expiring link is created (opened at the end)', async () => {
  expiring = await call('CreateConnectLink', {
    leafUserId: USER_EXPIRE,
    ttl: { seconds: 60, nanos: 0 },
  });
  assert.equal(expiring.state, 'PENDING');
  assert.match(expiring.name, /^connectLinks\/[A-Za-z0-9_-]{16,64}$/);
  assert.ok(expiring.url.startsWith(CONNECT_URL + '/connect/'), expiring.url);
});

test('lifecycle: connected, revoked at AgFiniti, reconnected through a new link', async () => {
  const w = watch([USER]);
  try {
    await w.until((c) => c.kind === 'CHANGE_KIND_INITIAL', 'the initial snapshot');

    // 1. A first link: the grower allows; the credentials are OK.
    const first = await call('CreateConnectLink', { leafUserId: USER });
    const g = await grower();
    await toConsent(g.page, first.url, { screenshots: true });
    await Promise.all([g.page.waitForURL(/\/done$/), g.page.click('#allow')]);
    assert.match(await g.page.textContent('body'), /connected/i);
    await shot(g.page, 'connect-result.png');
    assert.equal(g.callbacks.length, 1);
    secrets.add(codeOf(g.callbacks[0]).code);
    const linked = await call('GetConnectLink', { name: first.name });
    assert.equal(linked.state, 'CONNECTED');
    assert.ok(linked.credentialsId);
    const ok = await w.until(
      (c) => c.current && c.current.status === 'CREDENTIAL_STATUS_OK',
      'the credentials OK',
    );
    assert.ok(ok);
    secrets.add(await storedRefreshToken(USER));

    // 2. The grower revokes the application at AgFiniti: Leaf flips the
    // status, Watch reports it.
    const revoked = await emulator('POST', '/_emulator/agfiniti/revoke', { username: GROWER.username });
    assert.ok(revoked.flipped_credentials >= 1, JSON.stringify(revoked));
    await w.until(
      (c) => c.current && c.current.status === 'CREDENTIAL_STATUS_UNAUTHENTICATED',
      'UNAUTHENTICATED after the revocation',
    );

    // 3. A new link; the grower allows again; Watch reports OK from the link.
    const again = await call('CreateConnectLink', { leafUserId: USER });
    const g2 = await grower();
    await toConsent(g2.page, again.url);
    await Promise.all([g2.page.waitForURL(/\/done$/), g2.page.click('#allow')]);
    assert.match(await g2.page.textContent('body'), /connected/i);
    secrets.add(codeOf(g2.callbacks[0]).code);
    const back = await w.until(
      (c) =>
        c.source === 'CHANGE_SOURCE_CONNECT_LINK' &&
        c.current &&
        c.current.status === 'CREDENTIAL_STATUS_OK',
      'OK again, from the connect link',
    );
    assert.ok(back.resumeToken);
    assert.equal((await call('GetConnectLink', { name: again.name })).state, 'CONNECTED');
    secrets.add(await storedRefreshToken(USER));

    // 4. The callback replayed (same browser, same cookies): refused, nothing
    // changes.
    const credsBefore = await call('GetCredentials', { leafUserId: USER });
    const replay = await g2.page.goto(g2.callbacks[0]);
    assert.equal(replay.status(), 400);
    assert.match(await g2.page.textContent('body'), /not valid|already used/i);
    assert.equal((await call('GetCredentials', { leafUserId: USER })).id, credsBefore.id);
    assert.equal((await call('GetConnectLink', { name: again.name })).state, 'CONNECTED');

    // 5. A used link cannot be used again.
    await g2.page.goto(again.url);
    assert.match(await g2.page.textContent('body'), /already/i);
    assert.equal(await g2.page.$('#connect'), null);
    await g.context.close();
    await g2.context.close();
  } finally {
    w.cancel();
  }
});

test('deny: the grower declines; the link says DENIED and can be opened again', async () => {
  const link = await call('CreateConnectLink', { leafUserId: USER_DENY });
  const g = await grower();
  await toConsent(g.page, link.url);
  await Promise.all([g.page.waitForURL(/\/done$/), g.page.click('#deny')]);
  assert.match(await g.page.textContent('body'), /declined/i);
  const denied = await call('GetConnectLink', { name: link.name });
  assert.equal(denied.state, 'DENIED');
  const info = denied.error.details.find((d) =>
    (d.typeUrl || d.type_url || '').endsWith('google.rpc.ErrorInfo'),
  );
  assert.ok(info, JSON.stringify(denied.error));
  assert.ok(info.value.toString('latin1').includes('CONNECT_CONSENT_DENIED'));
  await assert.rejects(call('GetCredentials', { leafUserId: USER_DENY }), (e) => e.code === grpc.status.NOT_FOUND);
  // Opened again: the Connect button is back.
  await g.page.goto(link.url);
  assert.ok(await g.page.$('#connect'));
  await g.context.close();
});

test('a tampered state is refused and changes nothing', async () => {
  const link = await call('CreateConnectLink', { leafUserId: USER_DENY });
  const g = await grower();
  await toConsent(g.page, link.url);
  // Stop at the callback: the consent form is posted from here (not by the
  // browser), so AgFiniti's redirect is read instead of followed.
  const form = await g.page.$eval('#allow', (button) => {
    const f = button.form;
    const fields = Object.fromEntries(new FormData(f).entries());
    if (button.name) fields[button.name] = button.value;
    return { action: f.action, fields };
  });
  const consent = await fetch(form.action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form.fields).toString(),
    redirect: 'manual',
  });
  const intercepted = consent.headers.get('location');
  assert.ok(intercepted && intercepted.startsWith(CONNECT_URL + '/agleader/callback'),
    `AgFiniti did not redirect to the callback: ${consent.status} ${intercepted}`);
  const { code, state } = codeOf(intercepted);
  secrets.add(code);
  const flipped = state.slice(0, -1) + (state.endsWith('A') ? 'B' : 'A');
  const tampered = `${CONNECT_URL}/agleader/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(flipped)}`;
  const res = await g.page.goto(tampered);
  assert.equal(res.status(), 400);
  assert.ok(!(await g.page.content()).includes(code), 'the code was echoed');
  const after = await call('GetConnectLink', { name: link.name });
  assert.notEqual(after.state, 'CONNECTED');
  // A callback with the right state from another browser (no cookie): refused too.
  const other = await grower();
  const res2 = await other.page.goto(intercepted);
  assert.equal(res2.status(), 400);
  assert.notEqual((await call('GetConnectLink', { name: link.name })).state, 'CONNECTED');
  await g.context.close();
  await other.context.close();
});

test('return URLs: a foreign one is refused; an allowed one is where the grower lands', async () => {
  await assert.rejects(
    call('CreateConnectLink', { leafUserId: USER_RETURN, returnUrl: 'https://evil.example/steal' }),
    (e) => e.code === grpc.status.INVALID_ARGUMENT && /return_url/.test(e.details),
  );
  await assert.rejects(
    call('CreateConnectLink', { leafUserId: USER_RETURN, returnUrl: RETURN_BASE.replace(/\/$/, '') + 'x/' }),
    (e) => e.code === grpc.status.INVALID_ARGUMENT,
  );
  const link = await call('CreateConnectLink', { leafUserId: USER_RETURN, returnUrl: RETURN_BASE + 'done' });
  const g = await grower();
  let landed;
  await g.page.route(RETURN_BASE + '**', (route) => {
    landed = route.request().url();
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<p id="back">back</p>' });
  });
  await toConsent(g.page, link.url);
  await Promise.all([g.page.waitForURL(/\/done$/), g.page.click('#allow')]);
  secrets.add(codeOf(g.callbacks[0]).code);
  await g.page.waitForSelector('#back', { timeout: 10000 });
  const u = new URL(landed);
  assert.equal(u.searchParams.get('connect_link'), link.name.split('/')[1]);
  assert.equal(u.searchParams.get('state'), 'CONNECTED');
  assert.ok(landed.startsWith(RETURN_BASE + 'done'));
  secrets.add(await storedRefreshToken(USER_RETURN));
  await g.context.close();
});

test('the pages send the security headers', async () => {
  const link = await call('CreateConnectLink', { leafUserId: USER_DENY });
  const res = await fetch(link.url);
  const csp = res.headers.get('content-security-policy') || '';
  assert.equal(res.headers.get('cache-control'), 'no-store');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /script-src/);
});

test('an expired link says so and cannot be used', async () => {
  const expires = Number(expiring.expireTime.seconds) * 1000;
  assert.ok(expires > Date.now() - 120000, JSON.stringify(expiring.expireTime));
  const wait = expires - Date.now() + 1500;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const g = await grower();
  await g.page.goto(expiring.url);
  assert.match(await g.page.textContent('body'), /expired/i);
  assert.equal(await g.page.$('#connect'), null);
  assert.equal((await call('GetConnectLink', { name: expiring.name })).state, 'EXPIRED');
  await g.context.close();
});

test('no secret of the flow reaches a log, a page or a response', async () => {
  const values = [...secrets].filter((s) => s && s.length >= 8);
  assert.ok(values.length >= 5, `too few secrets collected: ${values.length}`);
  const texts = [...seen];
  for (const file of LOG_FILES) texts.push(fs.readFileSync(file, 'utf8'));
  for (const text of texts) {
    for (const secret of values) {
      assert.ok(!text.includes(secret), `a secret (${secret.length} chars) appears in: ${text.slice(0, 200)}`);
      // Nor a telling part of one (the last 8 characters).
      if (secret.length >= 24) assert.ok(!text.includes(secret.slice(-12)), 'a secret\'s tail appears');
    }
  }
});
