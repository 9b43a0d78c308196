// Drives /v1/customers of a running Calmony Pay server with the official
// stripe-node SDK (npm stripe 23.1.0, pinned in package.json).
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK),
// which starts a server and sets:
//   CALMONY_URL        the server's base URL, e.g. http://127.0.0.1:40123
//   CALMONY_KEY        a test-mode secret key of a project
//   CALMONY_OTHER_KEY  a test-mode secret key of another project (optional:
//                      the isolation test is skipped without it)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';

const { CALMONY_URL, CALMONY_KEY, CALMONY_OTHER_KEY } = process.env;
if (!CALMONY_URL || !CALMONY_KEY) {
  throw new Error(
    'CALMONY_URL and CALMONY_KEY must be set; run these tests with: go test ./internal/api -run TestNodeSDK',
  );
}

// The API version stripe-go v85 pins and the server implements.
const API_VERSION = '2026-03-25.dahlia';
// What stripe 23.1.0 sends when no apiVersion is configured.
const SDK_DEFAULT_VERSION = '2026-10-28.endive';

const base = new URL(CALMONY_URL);

function client(key = CALMONY_KEY, config = { apiVersion: API_VERSION }) {
  return new Stripe(key, {
    host: base.hostname,
    port: Number(base.port),
    protocol: base.protocol.replace(/:$/, ''),
    maxNetworkRetries: 0,
    ...config,
  });
}

const stripe = client();

const unique = () => randomUUID().slice(0, 8);

// The part of a customer these tests compare.
function view(c) {
  const { id, object, livemode, deleted, email, name, phone, description, address, metadata } = c;
  return { id, object, livemode, deleted, email, name, phone, description, address, metadata };
}

function fullCreateParams(email) {
  return {
    email,
    name: 'Ada Lovelace',
    phone: '+44 20 7946 0000',
    description: 'Analytical engine & co. (test)',
    address: {
      line1: "12 St James's Square",
      line2: 'Flat 3',
      city: 'London',
      state: 'Greater London',
      postal_code: 'SW1Y 4JH',
      country: 'GB',
    },
    metadata: { order_id: '6735', tier: 'gold plus' },
  };
}

// expectStripeError awaits promise and checks it rejects with an instance of
// cls carrying the given fields.
async function expectStripeError(promise, cls, want, what) {
  await assert.rejects(promise, (err) => {
    assert.ok(
      err instanceof cls,
      `${what}: got ${err?.constructor?.name} (${err?.statusCode} ${err?.rawType}: ${err?.message}), want ${cls.name}`,
    );
    const got = {};
    for (const k of Object.keys(want)) got[k] = err[k];
    assert.deepEqual(got, want, `${what}: error fields (message: ${err.message})`);
    assert.match(err.requestId ?? '', /^req_/, `${what}: requestId from the Request-Id header`);
    assert.ok(err.message, `${what}: error has a message`);
    return true;
  });
}

async function listIDs(sc, params) {
  const ids = [];
  for await (const c of sc.customers.list(params)) ids.push(c.id);
  return ids;
}

test('create and retrieve a customer', async () => {
  const email = `ada+${unique()}@example.com`;
  const created = await stripe.customers.create(fullCreateParams(email));
  assert.match(created.id, /^cus_/);
  assert.equal(typeof created.created, 'number');
  assert.ok(Math.abs(created.created - Date.now() / 1000) < 60, `created = ${created.created}, want about now`);
  assert.match(created.lastResponse.requestId, /^req_/);
  const want = {
    id: created.id,
    object: 'customer',
    livemode: false,
    deleted: undefined,
    email,
    name: 'Ada Lovelace',
    phone: '+44 20 7946 0000',
    description: 'Analytical engine & co. (test)',
    address: {
      city: 'London',
      country: 'GB',
      line1: "12 St James's Square",
      line2: 'Flat 3',
      postal_code: 'SW1Y 4JH',
      state: 'Greater London',
    },
    metadata: { order_id: '6735', tier: 'gold plus' },
  };
  assert.deepEqual(view(created), want, 'create response');
  const got = await stripe.customers.retrieve(created.id);
  assert.deepEqual(view(got), want, 'retrieve response');
});

test('update sets, unsets with empty strings and edits metadata', async () => {
  const c = await stripe.customers.create(fullCreateParams(`update+${unique()}@example.com`));
  const updated = await stripe.customers.update(c.id, {
    name: 'Augusta Ada King',
    description: '',
    phone: '',
    address: '',
    metadata: { tier: '', source: 'node test' },
  });
  const want = {
    ...view(c),
    name: 'Augusta Ada King',
    description: null,
    phone: null,
    address: null,
    metadata: { order_id: '6735', source: 'node test' },
  };
  assert.deepEqual(view(updated), want, 'update response');
  assert.deepEqual(view(await stripe.customers.retrieve(c.id)), want, 'retrieve after update');

  const cleared = await stripe.customers.update(c.id, { metadata: '' });
  assert.deepEqual(view(cleared), { ...want, metadata: {} }, 'update with metadata=""');
});

test('list auto-pagination walks every page with for await', async () => {
  // One email for all, so that the customers of other tests do not show.
  const email = `page+${unique()}@example.com`;
  const made = [];
  for (let i = 0; i < 7; i++) {
    made.push((await stripe.customers.create({ email, name: `Page ${i}` })).id);
  }

  const sc = client();
  const requests = [];
  sc.on('request', (e) => requests.push(`${e.method} ${e.path}`));
  const listed = [];
  for await (const c of sc.customers.list({ email, limit: 3 })) {
    assert.equal(c.object, 'customer');
    assert.equal(c.email, email);
    listed.push(c);
  }
  assert.deepEqual(
    listed.map((c) => c.id).toSorted(),
    made.toSorted(),
    'for await yields each customer exactly once',
  );
  for (let i = 1; i < listed.length; i++) {
    assert.ok(listed[i - 1].created >= listed[i].created, `not newest first at ${i}: ${listed.map((c) => c.created)}`);
  }
  assert.equal(requests.length, 3, `want 3 pages of 3, 3 and 1; requests: ${requests.join(', ')}`);
  assert.match(requests[1], new RegExp(`starting_after=${listed[2].id}`));
  assert.match(requests[2], new RegExp(`starting_after=${listed[5].id}`));

  // Backwards from the oldest with ending_before: the SDK yields oldest
  // first, so it must see the same list reversed.
  const forward = listed.map((c) => c.id);
  const back = await listIDs(stripe, { email, limit: 3, ending_before: forward.at(-1) });
  assert.deepEqual(back, forward.slice(0, -1).toReversed(), 'ending_before auto-pagination');
});

test('list filters by email', async () => {
  const shared = `shared+${unique()}@example.com`;
  const want = [];
  for (const email of [shared, `other+${unique()}@example.com`, shared]) {
    const c = await stripe.customers.create({ email });
    if (email === shared) want.push(c.id);
  }
  assert.deepEqual((await listIDs(stripe, { email: shared, limit: 1 })).toSorted(), want.toSorted());
  assert.deepEqual(await listIDs(stripe, { email: shared.toUpperCase() }), [], 'the email filter is case-sensitive');
});

test('delete, then retrieve shows deleted and update is resource_missing', async () => {
  const email = `delete+${unique()}@example.com`;
  const c = await stripe.customers.create(fullCreateParams(email));
  const del = await stripe.customers.del(c.id);
  assert.deepEqual({ ...del }, { id: c.id, object: 'customer', deleted: true }, 'delete response');
  const got = await stripe.customers.retrieve(c.id);
  assert.equal(got.deleted, true, 'retrieve after delete');
  assert.equal(got.id, c.id);
  await expectStripeError(
    stripe.customers.update(c.id, { name: 'Ghost' }),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 404, code: 'resource_missing', param: 'id' },
    'update after delete',
  );
  await expectStripeError(
    stripe.customers.del(c.id),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 404, code: 'resource_missing' },
    'second delete',
  );
  assert.deepEqual(await listIDs(stripe, { email }), [], 'list after delete');
});

test('a bad key is a StripeAuthenticationError', async () => {
  for (const key of [`sk_test_${'x'.repeat(24)}`, 'hello']) {
    await expectStripeError(
      client(key).customers.list(),
      Stripe.errors.StripeAuthenticationError,
      { statusCode: 401 },
      `list with key ${key}`,
    );
  }
});

test('an unknown customer is resource_missing', async () => {
  const id = 'cus_NoSuchCustomer0000000000';
  for (const [what, call] of [
    ['retrieve', () => stripe.customers.retrieve(id)],
    ['update', () => stripe.customers.update(id, { name: 'x' })],
    ['delete', () => stripe.customers.del(id)],
  ]) {
    await expectStripeError(
      call(),
      Stripe.errors.StripeInvalidRequestError,
      { statusCode: 404, type: 'StripeInvalidRequestError', rawType: 'invalid_request_error', code: 'resource_missing', param: 'id' },
      what,
    );
  }
});

test('an unknown parameter is parameter_unknown naming it', async () => {
  const c = await stripe.customers.create({ name: 'Params' });
  for (const [what, param, call] of [
    ['create', 'bogus', () => stripe.customers.create({ name: 'x', bogus: '1' })],
    ['create nested', 'address[lin1]', () => stripe.customers.create({ address: { city: 'Leeds', lin1: '1 Typo Street' } })],
    ['update', 'bogus', () => stripe.customers.update(c.id, { bogus: '1' })],
    ['retrieve', 'bogus', () => stripe.customers.retrieve(c.id, { bogus: '1' })],
    ['list', 'bogus', () => stripe.customers.list({ bogus: '1' })],
  ]) {
    await expectStripeError(
      call(),
      Stripe.errors.StripeInvalidRequestError,
      { statusCode: 400, code: 'parameter_unknown', param },
      what,
    );
  }
});

test('idempotency keys replay, and reuse with other params is a StripeIdempotencyError', async () => {
  const email = `idem+${unique()}@example.com`;
  const idempotencyKey = `node-test-${randomUUID()}`;
  const first = await stripe.customers.create(fullCreateParams(email), { idempotencyKey });
  const second = await stripe.customers.create(fullCreateParams(email), { idempotencyKey });
  assert.equal(second.id, first.id, 'same key and params give the same customer');
  assert.deepEqual(view(second), view(first));
  assert.equal(first.lastResponse.headers['idempotent-replayed'], undefined, 'first response is not a replay');
  assert.equal(second.lastResponse.headers['idempotent-replayed'], 'true', 'second response is a replay');
  assert.equal(second.lastResponse.idempotencyKey, idempotencyKey, 'Idempotency-Key echoed');
  assert.deepEqual(await listIDs(stripe, { email }), [first.id], 'one customer for two keyed creates');

  // Without an explicit key the SDK sends its own stripe-node-retry-<uuid>.
  const auto = await stripe.customers.create({ email });
  assert.match(auto.lastResponse.idempotencyKey ?? '', /^stripe-node-retry-/, 'automatic key echoed');

  await expectStripeError(
    stripe.customers.create({ email: `other+${unique()}@example.com` }, { idempotencyKey }),
    Stripe.errors.StripeIdempotencyError,
    { statusCode: 400, rawType: 'idempotency_error' },
    'key reused with other params',
  );
});

test("another project's key cannot see the customer", { skip: !CALMONY_OTHER_KEY && 'CALMONY_OTHER_KEY is not set' }, async () => {
  const email = `owner+${unique()}@example.com`;
  const c = await stripe.customers.create(fullCreateParams(email));
  const other = client(CALMONY_OTHER_KEY);
  const missing = { statusCode: 404, code: 'resource_missing', param: 'id' };
  await expectStripeError(other.customers.retrieve(c.id), Stripe.errors.StripeInvalidRequestError, missing, 'retrieve');
  await expectStripeError(other.customers.update(c.id, { name: 'Mallory' }), Stripe.errors.StripeInvalidRequestError, missing, 'update');
  await expectStripeError(other.customers.del(c.id), Stripe.errors.StripeInvalidRequestError, missing, 'delete');
  assert.deepEqual(await listIDs(other, { email }), [], 'list by email');
  assert.deepEqual(view(await stripe.customers.retrieve(c.id)), view(c), 'unchanged for its owner');
});

test('without apiVersion the SDK sends its own pin and the server still answers', async () => {
  const sc = client(CALMONY_KEY, {});
  const versions = [];
  sc.on('request', (e) => versions.push(e.api_version));
  const email = `noversion+${unique()}@example.com`;
  const created = await sc.customers.create({ email, name: 'Unpinned' });
  const got = await sc.customers.retrieve(created.id);
  assert.deepEqual(versions, [SDK_DEFAULT_VERSION, SDK_DEFAULT_VERSION], 'Stripe-Version sent');
  assert.equal(got.id, created.id);
  assert.equal(got.email, email);
  assert.equal(got.name, 'Unpinned');
});
