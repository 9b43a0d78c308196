// Drives /v1/tax_rates of a running Calmony Pay server with the official
// stripe-node SDK (npm stripe 23.1.0, pinned in package.json).
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK),
// which starts a server and sets CALMONY_URL, CALMONY_KEY and
// CALMONY_OTHER_KEY (a key of another project) as for customers.test.mjs.
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

async function expectInvalid(promise, want, what) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, `${what}: got ${err?.constructor?.name}: ${err?.message}`);
    const got = {};
    for (const k of Object.keys(want)) got[k] = err[k];
    assert.deepEqual(got, want, `${what}: error fields (message: ${err.message})`);
    return true;
  });
}

test('create, retrieve and update a UK VAT rate', async () => {
  const tag = randomUUID().slice(0, 8);
  const created = await stripe.taxRates.create({
    display_name: 'VAT',
    percentage: 17.5,
    inclusive: true,
    country: 'GB',
    tax_type: 'vat',
    metadata: { tag },
  });
  assert.match(created.id, /^txr_/);
  const want = {
    id: created.id,
    object: 'tax_rate',
    active: true,
    country: 'GB',
    created: created.created,
    description: null,
    display_name: 'VAT',
    effective_percentage: 17.5,
    flat_amount: null,
    inclusive: true,
    jurisdiction: null,
    jurisdiction_level: null,
    livemode: false,
    metadata: { tag },
    percentage: 17.5,
    rate_type: 'percentage',
    state: null,
    tax_type: 'vat',
  };
  const { lastResponse, ...body } = created;
  assert.deepEqual(body, want, 'create response');
  const { lastResponse: _, ...got } = await stripe.taxRates.retrieve(created.id);
  assert.deepEqual(got, want, 'retrieve response');

  const archived = await stripe.taxRates.update(created.id, { active: false, description: 'replaced' });
  assert.equal(archived.active, false);
  assert.equal(archived.description, 'replaced');
  assert.equal(archived.percentage, 17.5);

  await expectInvalid(
    stripe.taxRates.update(created.id, { percentage: 20 }),
    { statusCode: 400, code: 'parameter_unknown', param: 'percentage' },
    'update percentage',
  );
});

test('percentages are exact, and bad ones are refused by name', async () => {
  for (const percentage of [0.0001, 12.3456, 100, 0]) {
    const r = await stripe.taxRates.create({ display_name: 'VAT', percentage, inclusive: false });
    assert.equal(r.percentage, percentage, `percentage ${percentage}`);
  }
  for (const [percentage, what] of [[100.0001, 'above 100'], [-5, 'negative'], [1e-7, 'exponent form'], [1.23456, '5 places']]) {
    await expectInvalid(
      stripe.taxRates.create({ display_name: 'VAT', percentage, inclusive: false }),
      { statusCode: 400, param: 'percentage' },
      `percentage ${what}`,
    );
  }
  await expectInvalid(
    stripe.taxRates.create({ percentage: 20, inclusive: false }),
    { statusCode: 400, code: 'parameter_missing', param: 'display_name' },
    'no display_name',
  );
  await expectInvalid(
    stripe.taxRates.create({ display_name: 'VAT', percentage: 20, inclusive: false, country: 'UK' }),
    { statusCode: 400, code: 'parameter_invalid', param: 'country' },
    'country UK',
  );
});

test('list filters by active and inclusive, and another project sees nothing', async () => {
  const made = [];
  for (const [active, inclusive] of [[true, true], [false, true], [true, false]]) {
    made.push(await stripe.taxRates.create({ display_name: 'VAT', percentage: 20, active, inclusive }));
  }
  const ids = async (params) => {
    const out = [];
    for await (const r of stripe.taxRates.list({ limit: 2, ...params })) out.push(r.id);
    return out;
  };
  const activeInclusive = await ids({ active: true, inclusive: true });
  assert.ok(activeInclusive.includes(made[0].id), 'active inclusive rate listed');
  assert.ok(!activeInclusive.includes(made[1].id) && !activeInclusive.includes(made[2].id), 'others filtered out');
  const archived = await ids({ active: false });
  assert.ok(archived.includes(made[1].id) && !archived.includes(made[0].id), 'active=false lists archived rates only');

  if (!CALMONY_OTHER_KEY) return;
  const other = client(CALMONY_OTHER_KEY);
  await expectInvalid(
    other.taxRates.retrieve(made[0].id),
    { statusCode: 404, code: 'resource_missing', param: 'id' },
    'another project',
  );
});
