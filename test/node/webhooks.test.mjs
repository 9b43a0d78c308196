// Webhooks through the official stripe-node SDK (npm stripe 23.1.0):
// /v1/webhook_endpoints, and stripe.webhooks.constructEvent verifying what
// Calmony Pay signs.
//
// Run by internal/api/node_sdk_test.go with every *.test.mjs here
// (CALMONY_URL, CALMONY_KEY), and by internal/webhook/node_test.go, which
// also runs a delivery worker and sets:
//   CALMONY_WEBHOOK_PAYLOAD  the raw body of a real delivery
//   CALMONY_WEBHOOK_HEADER   its Stripe-Signature header
//   CALMONY_WEBHOOK_SECRET   the endpoint's signing secret
//   CALMONY_WEBHOOK_WORKER   "1": deliveries are sent, so the live test runs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';

const {
  CALMONY_URL,
  CALMONY_KEY,
  CALMONY_WEBHOOK_PAYLOAD,
  CALMONY_WEBHOOK_HEADER,
  CALMONY_WEBHOOK_SECRET,
  CALMONY_WEBHOOK_WORKER,
} = process.env;
if (!CALMONY_URL || !CALMONY_KEY) {
  throw new Error('CALMONY_URL and CALMONY_KEY must be set; run these tests with: go test ./internal/webhook -run TestStripeNode');
}

const base = new URL(CALMONY_URL);
const stripe = new Stripe(CALMONY_KEY, {
  host: base.hostname,
  port: Number(base.port),
  protocol: base.protocol.replace(/:$/, ''),
  apiVersion: '2026-03-25.dahlia',
  maxNetworkRetries: 0,
});

test('webhook endpoints: the secret is returned on create only', async () => {
  const created = await stripe.webhookEndpoints.create({
    url: `https://hooks.example.com/node/${randomUUID().slice(0, 8)}`,
    enabled_events: ['customer.created', 'customer.updated'],
    description: 'stripe-node test',
    metadata: { team: 'node' },
  });
  try {
    assert.match(created.id, /^we_/);
    assert.match(created.secret, /^whsec_[0-9A-Za-z]{32}$/);
    assert.equal(created.object, 'webhook_endpoint');
    assert.equal(created.status, 'enabled');
    assert.equal(created.application, null);
    assert.deepEqual(created.enabled_events, ['customer.created', 'customer.updated']);
    assert.deepEqual(created.metadata, { team: 'node' });

    const got = await stripe.webhookEndpoints.retrieve(created.id);
    assert.equal(got.secret, undefined, 'retrieve must not return the secret');
    assert.equal(got.url, created.url);

    const updated = await stripe.webhookEndpoints.update(created.id, { disabled: true, enabled_events: ['*'] });
    assert.equal(updated.status, 'disabled');
    assert.deepEqual(updated.enabled_events, ['*']);
    assert.equal(updated.secret, undefined);

    const ids = [];
    for await (const ep of stripe.webhookEndpoints.list({ limit: 2 })) ids.push(ep.id);
    assert.ok(ids.includes(created.id), 'list includes the endpoint');
  } finally {
    const deleted = await stripe.webhookEndpoints.del(created.id);
    assert.equal(deleted.deleted, true);
  }
});

test('webhook endpoints: an unknown event type is refused, naming its parameter', async () => {
  await assert.rejects(
    stripe.webhookEndpoints.create({ url: 'https://hooks.example.com/node', enabled_events: ['customer.created', 'customer.exploded'] }),
    (err) => {
      assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, `got ${err?.constructor?.name}`);
      assert.equal(err.param, 'enabled_events[1]');
      assert.match(err.message, /customer\.exploded/);
      return true;
    },
  );
});

test('constructEvent verifies a real delivery and rejects tampering', { skip: !CALMONY_WEBHOOK_PAYLOAD && 'no delivery passed in' }, () => {
  const event = stripe.webhooks.constructEvent(CALMONY_WEBHOOK_PAYLOAD, CALMONY_WEBHOOK_HEADER, CALMONY_WEBHOOK_SECRET);
  assert.equal(event.object, 'event');
  assert.match(event.id, /^evt_/);
  assert.equal(event.api_version, '2026-03-25.dahlia');

  const tampered = CALMONY_WEBHOOK_PAYLOAD.replace('"livemode":false', '"livemode":true');
  assert.notEqual(tampered, CALMONY_WEBHOOK_PAYLOAD);
  assert.throws(
    () => stripe.webhooks.constructEvent(tampered, CALMONY_WEBHOOK_HEADER, CALMONY_WEBHOOK_SECRET),
    Stripe.errors.StripeSignatureVerificationError,
  );
  assert.throws(
    () => stripe.webhooks.constructEvent(CALMONY_WEBHOOK_PAYLOAD, CALMONY_WEBHOOK_HEADER, 'whsec_not_the_secret'),
    Stripe.errors.StripeSignatureVerificationError,
  );
  // A signature older than the 300 s tolerance fails.
  const t = Number(/t=(\d+)/.exec(CALMONY_WEBHOOK_HEADER)[1]);
  assert.throws(
    () => stripe.webhooks.constructEvent(CALMONY_WEBHOOK_PAYLOAD, CALMONY_WEBHOOK_HEADER, CALMONY_WEBHOOK_SECRET, 300, undefined, (t + 301) * 1000),
    Stripe.errors.StripeSignatureVerificationError,
  );
});

test('a delivery to a local receiver verifies with constructEvent', { skip: CALMONY_WEBHOOK_WORKER !== '1' && 'no delivery worker' }, async () => {
  let resolveDelivery;
  const delivered = new Promise((resolve) => (resolveDelivery = resolve));
  const receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200).end('ok');
      resolveDelivery({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const endpoint = await stripe.webhookEndpoints.create({
    url: `http://127.0.0.1:${receiver.address().port}/hook`,
    enabled_events: ['customer.created'],
  });
  try {
    const customer = await stripe.customers.create({ email: `node-webhook-${randomUUID().slice(0, 8)}@example.com` });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('no delivery within 10 s')), 10_000);
    });
    const { body, headers } = await Promise.race([delivered, timeout]).finally(() => clearTimeout(timer));
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['calmony-signature'], headers['stripe-signature']);
    const event = stripe.webhooks.constructEvent(body, headers['stripe-signature'], endpoint.secret);
    assert.equal(event.type, 'customer.created');
    assert.equal(event.data.object.id, customer.id);
  } finally {
    await stripe.webhookEndpoints.del(endpoint.id);
    receiver.close();
    receiver.closeAllConnections();
  }
});
