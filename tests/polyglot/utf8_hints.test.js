'use strict';
// Multi-byte secrets through the Node client: hints are whole characters.
// Run by //tests/polyglot:utf8_hints_test (AGLEADER_TARGET, AGLEADER_NODE_CLIENT).
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, before, describe, test } = require('node:test');

const { AgLeaderClient } = require(process.env.AGLEADER_NODE_CLIENT);
const TARGET = process.env.AGLEADER_TARGET || '';

describe('hints of multi-byte secrets', { skip: !TARGET }, () => {
  let client;
  before(() => {
    client = new AgLeaderClient(TARGET, { timeoutMs: 10000 });
  });
  after(() => client.close());

  test('are the last four characters, read back as valid strings', async () => {
    const leafUserId = crypto.randomUUID();
    const created = await client.createCredentials({
      leafUserId,
      refreshToken: 'abcdefghijkl\u20ac\u20ac',
      publicKey: 'node-public',
      privateKey: 'private-key-\u{1F511}\u{1F511}\u{1F511}',
    });
    const got = await client.getCredentials({ leafUserId });
    for (const creds of [created, got]) {
      assert.equal(creds.refreshTokenHint, '****kl\u20ac\u20ac');
      assert.equal(creds.privateKeyHint, '****-\u{1F511}\u{1F511}\u{1F511}');
    }
  });
});
