// Drives /v1/test_helpers/test_clocks of a running Calmony Pay server with
// the official stripe-node SDK (npm stripe 23.1.0, pinned in package.json).
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK),
// which starts a server and sets CALMONY_URL, CALMONY_KEY and
// CALMONY_OTHER_KEY (see customers.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';

const { CALMONY_URL, CALMONY_KEY, CALMONY_OTHER_KEY } = process.env;
if (!CALMONY_URL || !CALMONY_KEY) {
  throw new Error(
    'CALMONY_URL and CALMONY_KEY must be set; run these tests with: go test ./internal/api -run TestNodeSDK',
  );
}

const base = new URL(CALMONY_URL);

function client(key = CALMONY_KEY) {
  return new Stripe(key, {
    host: base.hostname,
    port: Number(base.port),
    protocol: base.protocol.replace(/:$/, ''),
    maxNetworkRetries: 0,
    apiVersion: '2026-03-25.dahlia',
  });
}

const stripe = client();
const FROZEN = 1577836800; // 2020-01-01

async function waitReady(id) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const c = await stripe.testHelpers.testClocks.retrieve(id);
    if (c.status === 'ready') return c;
    assert.ok(Date.now() < deadline, `clock ${id} still ${c.status} after 5s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('test clocks: create, advance until ready, list, delete with its customers', async () => {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: FROZEN, name: 'node' });
  assert.match(clock.id, /^clock_/);
  assert.deepEqual(
    {
      object: clock.object,
      frozen_time: clock.frozen_time,
      name: clock.name,
      status: clock.status,
      status_details: clock.status_details,
      livemode: clock.livemode,
      deletes_after: clock.deletes_after,
    },
    {
      object: 'test_helpers.test_clock',
      frozen_time: FROZEN,
      name: 'node',
      status: 'ready',
      status_details: {},
      livemode: false,
      deletes_after: clock.created + 30 * 86400,
    },
  );
  const customer = await stripe.customers.create({ test_clock: clock.id });
  assert.equal(customer.test_clock, clock.id);

  const target = FROZEN + 31 * 86400;
  const advancing = await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: target });
  assert.equal(advancing.status, 'advancing');
  assert.deepEqual(advancing.status_details, { advancing: { target_frozen_time: target } });
  const ready = await waitReady(clock.id);
  assert.equal(ready.frozen_time, target);

  const ids = [];
  for await (const c of stripe.testHelpers.testClocks.list({ limit: 1 })) ids.push(c.id);
  assert.ok(ids.includes(clock.id), `list ${ids} includes ${clock.id}`);

  const deleted = await stripe.testHelpers.testClocks.del(clock.id);
  assert.deepEqual(deleted, { ...deleted, id: clock.id, object: 'test_helpers.test_clock', deleted: true });
  assert.equal((await stripe.customers.retrieve(customer.id)).deleted, true);
});

test('test clocks: refusals name the parameter', async () => {
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: FROZEN });
  await assert.rejects(stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: FROZEN - 1 }), (err) => {
    assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, err.constructor.name);
    assert.equal(err.statusCode, 400);
    assert.equal(err.param, 'frozen_time');
    return true;
  });
  await assert.rejects(stripe.testHelpers.testClocks.create({}), (err) => {
    assert.equal(err.statusCode, 400);
    assert.equal(err.code, 'parameter_missing');
    assert.equal(err.param, 'frozen_time');
    return true;
  });
  if (CALMONY_OTHER_KEY) {
    await assert.rejects(client(CALMONY_OTHER_KEY).testHelpers.testClocks.retrieve(clock.id), (err) => {
      assert.equal(err.statusCode, 404);
      assert.equal(err.code, 'resource_missing');
      return true;
    });
  }
});
