// Drives the search routes (/v1/customers/search, /v1/payment_intents/search)
// of a running Calmony Pay server with the official stripe-node SDK (npm
// stripe 23.1.0): its search auto-pagination follows next_page. The Go
// equivalent is internal/api/search_test.go.
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK),
// which starts a server and sets CALMONY_URL and CALMONY_KEY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';

const { CALMONY_URL, CALMONY_KEY } = process.env;
if (!CALMONY_URL || !CALMONY_KEY) {
  throw new Error(
    'CALMONY_URL and CALMONY_KEY must be set; run these tests with: go test ./internal/api -run TestNodeSDK',
  );
}

const base = new URL(CALMONY_URL);
const stripe = new Stripe(CALMONY_KEY, {
  host: base.hostname,
  port: Number(base.port),
  protocol: 'http',
  apiVersion: '2026-03-25.dahlia',
  maxNetworkRetries: 0,
});

test('customers.search pages through every match with for await', async () => {
  const email = `search+${randomUUID().slice(0, 8)}@example.com`;
  const created = [];
  for (let i = 0; i < 5; i++) {
    created.push((await stripe.customers.create({ email, metadata: { n: String(i) } })).id);
  }
  const ids = [];
  for await (const c of stripe.customers.search({ query: `email:'${email}'`, limit: 2 })) ids.push(c.id);
  assert.deepEqual(ids, created.reverse(), 'newest first, all five');

  const page = await stripe.customers.search({ query: `email:'${email}' AND metadata['n']:'3'`, expand: ['total_count'] });
  assert.equal(page.object, 'search_result');
  assert.equal(page.total_count, 1);
  assert.deepEqual(page.data.map((c) => c.metadata.n), ['3']);
});

test('payment_intents.search compares amounts', async () => {
  const order = randomUUID().slice(0, 8);
  for (const amount of [500, 1500, 2500]) {
    await stripe.paymentIntents.create({ amount, currency: 'gbp', metadata: { order } });
  }
  const found = await stripe.paymentIntents
    .search({ query: `metadata['order']:'${order}' AND amount>1000`, limit: 1 })
    .autoPagingToArray({ limit: 10 });
  assert.deepEqual(found.map((pi) => pi.amount), [2500, 1500]);
});

test('a query the server cannot answer is a StripeInvalidRequestError about query', async () => {
  await assert.rejects(stripe.customers.search({ query: "name:'Ada'" }), (err) => {
    assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, `got ${err?.constructor?.name}`);
    assert.equal(err.statusCode, 400);
    assert.equal(err.param, 'query');
    assert.match(err.message, /encrypted/);
    return true;
  });
});
