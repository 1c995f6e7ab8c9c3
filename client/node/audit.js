'use strict';
// `agleader-client audit`: the state of many users' credentials, as the C++
// client's audit prints it (same columns, CSV header and JSON field names),
// with --links: a connect link for every user who must re-authorize
// (UNAUTHENTICATED or MISSING_PERMISSION), or that row's own failure to get
// one. Exit code: 1 when a call or a user's read failed (ERROR rows), else 3
// when some user must re-authorize, else 0; a link that could not be created
// changes nothing. Users Leaf's request budget deferred (LEAF_RATE_LIMITED)
// are asked again after the server's RetryInfo delay (at most 60 s), up to
// maxRateLimitedWaits rounds; whoever is left is an ERROR row.

const { AgLeaderError, decodeResultError } = require('./agleader_client');

const REAUTHORIZE = ['UNAUTHENTICATED', 'MISSING_PERMISSION'];
const ORDER = [
  'OK', 'UNAUTHENTICATED', 'MISSING_PERMISSION', 'TEMPORARILY_UNAVAILABLE', 'UNKNOWN',
  'NO_CREDENTIALS', 'ERROR',
];
const FIELDS = [
  'leaf_user_id', 'status', 'leaf_status', 'create_time', 'refresh_token_hint',
  'private_key_hint', 'access_token_hint', 'error_reason',
];
const LINK_FIELDS = ['connect_link', 'connect_link_name', 'connect_link_error'];
const MAX_WAIT_MS = 60000;

/** Control characters (but tab) as \xNN: the server's text cannot drive the terminal. */
function printable(text) {
  // eslint-disable-next-line no-control-regex
  return String(text).replace(/[\x00-\x08\x0a-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function emptyRow() {
  return Object.fromEntries([...FIELDS, ...LINK_FIELDS].map((f) => [f, '']));
}

/** Hints only: a FULL view's secret values are never read. */
function rowFromCredentials(c) {
  const status = String(c.status || '').replace(/^CREDENTIAL_STATUS_/, '');
  const row = emptyRow();
  Object.assign(row, {
    leaf_user_id: c.leafUserId,
    status: ORDER.slice(0, 4).includes(status) ? status : 'UNKNOWN',
    leaf_status: c.leafStatus || '',
    refresh_token_hint: c.refreshTokenHint || '',
    private_key_hint: c.privateKeyHint || '',
    access_token_hint: c.accessTokenHint || '',
  });
  if (c.createTime) {
    row.create_time = new Date(Number(c.createTime.seconds) * 1000).toISOString()
      .replace(/\.\d+Z$/, 'Z');
  }
  return row;
}

function rowFromError(leafUserId, details) {
  const row = emptyRow();
  row.leaf_user_id = leafUserId;
  const reason = details.reason || `CODE_${details.code}`;
  if (reason === 'CREDENTIALS_NOT_FOUND') row.status = 'NO_CREDENTIALS';
  else Object.assign(row, { status: 'ERROR', error_reason: reason });
  return row;
}

// As the C++ client: escaped like the table, a formula-looking cell quoted
// (CSV injection), quotes doubled.
function csvField(raw) {
  let s = printable(raw);
  if (raw && '=+-@\t\r'.includes(raw[0])) s = `'${s}`;
  return /[,"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const camel = (name) => name.replace(/_([a-z])/g, (_m, c) => c.toUpperCase());
const pad = (s, n) => String(s).padEnd(n);

function header(format, links) {
  if (format === 'table') {
    const cols = [pad('LEAF USER ID', 36), pad('STATUS', 23), pad('CREATED', 20),
      pad('REFRESH', 8), pad('PRIVATE', 8), pad('ACCESS', 8)];
    return `${[...cols, ...(links ? [pad('ERROR', 24), 'CONNECT LINK'] : ['ERROR'])].join('  ')}\n`;
  }
  if (format === 'csv') return `${[...FIELDS, ...(links ? LINK_FIELDS : [])].join(',')}\n`;
  return '';
}

function formatRow(row, format, links) {
  const fields = [...FIELDS, ...(links ? LINK_FIELDS : [])];
  if (format === 'csv') return `${fields.map((f) => csvField(row[f])).join(',')}\n`;
  if (format === 'json') {
    return `${JSON.stringify(Object.fromEntries(fields.map((f) => [camel(f), row[f]])))}\n`;
  }
  let status = row.status;
  if (row.leaf_status && row.leaf_status !== status) status += ` (${printable(row.leaf_status)})`;
  const cells = [pad(printable(row.leaf_user_id), 36), pad(status, 23),
    pad(row.create_time || '-', 20), pad(printable(row.refresh_token_hint) || '-', 8),
    pad(printable(row.private_key_hint) || '-', 8), pad(printable(row.access_token_hint) || '-', 8)];
  if (!links) return `${[...cells, row.error_reason].join('  ')}\n`;
  const link = row.connect_link_error
    ? `error: ${printable(row.connect_link_error)}`
    : printable(row.connect_link) || '-';
  return `${[...cells, pad(row.error_reason || '-', 24), link].join('  ')}\n`;
}

function summary(counts) {
  let text = 'summary:\n';
  const line = (label, n) => `  ${pad(label, 24)} ${n}\n`;
  for (const status of ORDER) if (counts[status]) text += line(status, counts[status]);
  text += line('total', Object.values(counts).reduce((a, b) => a + b, 0));
  text += line('need re-authorization', REAUTHORIZE.reduce((a, s) => a + (counts[s] || 0), 0));
  return text;
}

/**
 * Runs an audit of `users` (null: every user, ListCredentials) and returns the exit
 * code. options: {format: table|csv|json, links, returnUrl, ttl, chunkSize,
 * maxRateLimitedWaits, write(text), note(text), sleep(ms)}.
 */
async function runAudit(client, users, options) {
  const { format = 'table', links = false, chunkSize = 100, maxRateLimitedWaits = 30 } = options;
  const write = options.write;
  const note = options.note;
  const sleep = options.sleep || ((ms) => new Promise((r) => setTimeout(r, ms)));
  const counts = {};
  let failed = false;
  let created = 0;
  let refused = 0;

  const emit = async (row) => {
    counts[row.status] = (counts[row.status] || 0) + 1;
    if (links && REAUTHORIZE.includes(row.status)) {
      try {
        const link = await client.createConnectLink({
          leafUserId: row.leaf_user_id, returnUrl: options.returnUrl || '', ttl: options.ttl,
        });
        Object.assign(row, { connect_link: link.url, connect_link_name: link.name });
        created += 1;
      } catch (e) {
        if (!(e instanceof AgLeaderError)) throw e;
        row.connect_link_error = e.reason || e.codeName;
        refused += 1;
      }
    }
    write(formatRow(row, format, links));
  };

  write(header(format, links));
  try {
    if (users === null) {
      for await (const c of client.iterCredentials({ pageSize: 500 })) {
        await emit(rowFromCredentials(c));
      }
    } else {
      let ask = users;
      let waits = 0;
      while (ask.length > 0) {
        const deferred = [];
        let waitMs = 0;
        for (let start = 0; start < ask.length; start += chunkSize) {
          const results = await client.batchGetCredentials({
            leafUserIds: ask.slice(start, start + chunkSize),
          });
          for (const result of results) {
            if (result.credentials) {
              await emit(rowFromCredentials(result.credentials));
              continue;
            }
            const details = decodeResultError(result.error);
            if (details.reason === 'LEAF_RATE_LIMITED' && waits < maxRateLimitedWaits) {
              deferred.push(result.leafUserId);
              const ms = details.retryDelaySeconds === null ? 2000 : details.retryDelaySeconds * 1000;
              waitMs = Math.max(waitMs, Math.min(ms, MAX_WAIT_MS));
              continue;
            }
            await emit(rowFromError(result.leafUserId, details));
          }
        }
        if (deferred.length > 0) {
          waits += 1;
          await sleep(Math.max(waitMs, 100));
        }
        ask = deferred;
      }
    }
  } catch (e) {
    if (!(e instanceof AgLeaderError)) throw e;
    failed = true;
    note(`error: ${e.codeName} (${e.code}): ${e.message}\n`);
  }
  let text = summary(counts);
  if (links) text += `  ${created} connect links created, ${refused} could not be created\n`;
  (format === 'table' ? write : note)(text);
  if (failed || counts.ERROR) return 1;
  return REAUTHORIZE.some((s) => counts[s]) ? 3 : 0;
}

module.exports = { runAudit, formatRow, header, printable, rowFromCredentials, summary };
