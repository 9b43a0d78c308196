// Drives /v1/products and /v1/prices of a running Calmony Pay server with the
// official stripe-node SDK (npm stripe 23.1.0). The Go equivalent is
// internal/api/catalog_sdk_test.go.
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK),
// which starts a server and sets CALMONY_URL and CALMONY_KEY.
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

const base = new URL(CALMONY_URL);
const client = (key) =>
  new Stripe(key, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    apiVersion: '2026-03-25.dahlia',
    maxNetworkRetries: 0,
  });
const stripe = client(CALMONY_KEY);

test('a product with a default price, its prices, expand and search', async () => {
  const name = `Node plan ${randomUUID().slice(0, 8)}`;
  const product = await stripe.products.create({
    name,
    default_price_data: { currency: 'gbp', unit_amount: 1200, recurring: { interval: 'month' } },
    expand: ['default_price'],
  });
  assert.match(product.id, /^prod_/);
  assert.equal(product.type, 'service');
  assert.equal(product.default_price.unit_amount, 1200);
  assert.equal(product.default_price.unit_amount_decimal, '1200');
  assert.deepEqual(product.default_price.recurring, {
    interval: 'month',
    interval_count: 1,
    meter: null,
    trial_period_days: null,
    usage_type: 'licensed',
  });

  const yearly = await stripe.prices.create({
    product: product.id,
    currency: 'gbp',
    unit_amount: 12000,
    recurring: { interval: 'year' },
    lookup_key: `node-yearly-${randomUUID().slice(0, 8)}`,
    expand: ['product'],
  });
  assert.equal(yearly.product.name, name);

  const prices = await stripe.prices.list({ product: product.id, limit: 1 }).autoPagingToArray({ limit: 10 });
  assert.deepEqual(prices.map((p) => p.id), [yearly.id, product.default_price.id]);
  const byKey = await stripe.prices.list({ lookup_keys: [yearly.lookup_key] });
  assert.deepEqual(byKey.data.map((p) => p.id), [yearly.id]);

  const found = await stripe.products.search({ query: `name:'${name}' AND active:'true'` }).autoPagingToArray({ limit: 10 });
  assert.deepEqual(found.map((p) => p.id), [product.id]);

  const archived = await stripe.prices.update(yearly.id, { active: false });
  assert.equal(archived.active, false);
});

test('bad input and other projects are StripeInvalidRequestErrors', async () => {
  await assert.rejects(
    stripe.prices.create({ currency: 'gbp', unit_amount: 100, product_data: { name: 'x' }, recurring: { interval: 'month', interval_count: 13 } }),
    (err) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, `got ${err?.constructor?.name}`);
      assert.equal(err.statusCode, 400);
      assert.equal(err.param, 'recurring[interval_count]');
      return true;
    },
  );
  const product = await stripe.products.create({ name: 'Undeletable', default_price_data: { currency: 'gbp', unit_amount: 1 } });
  await assert.rejects(stripe.products.del(product.id), (err) => {
    assert.equal(err.statusCode, 400);
    assert.match(err.message, /user-created prices/);
    return true;
  });
  if (CALMONY_OTHER_KEY) {
    await assert.rejects(client(CALMONY_OTHER_KEY).products.retrieve(product.id), (err) => {
      assert.equal(err.statusCode, 404);
      assert.equal(err.code, 'resource_missing');
      return true;
    });
  }
  const bare = await stripe.products.create({ name: 'Deletable' });
  const deleted = await stripe.products.del(bare.id);
  assert.deepEqual(deleted, { id: bare.id, object: 'product', deleted: true });
});
