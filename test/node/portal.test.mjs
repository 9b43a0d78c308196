// Drives the customer portal (/v1/billing_portal/…) of a running Calmony
// Pay server with the official stripe-node SDK (npm stripe 23.1.0, pinned
// in package.json): a configuration, a session whose url opens the portal
// page, and the errors a merchant's "Manage billing" button can meet.
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK),
// which starts a server and sets CALMONY_URL, CALMONY_KEY and
// CALMONY_OTHER_KEY (a key of another project).
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

async function expectInvalid(promise, want, what) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof Stripe.errors.StripeInvalidRequestError, `${what}: got ${err?.constructor?.name}: ${err?.message}`);
    const got = {};
    for (const k of Object.keys(want)) got[k] = err[k];
    assert.deepEqual(got, want, `${what}: error fields (message: ${err.message})`);
    return true;
  });
}

test('a portal session opens the customer\'s billing page', async () => {
  const price = await stripe.prices.create({
    currency: 'gbp',
    unit_amount: 1500,
    recurring: { interval: 'month' },
    product_data: { name: 'Silver plan' },
  });
  const customer = await stripe.customers.create({ email: 'grace@example.com', name: 'Grace Hopper' });
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
  assert.equal(sub.status, 'active');

  const config = await stripe.billingPortal.configurations.create({
    business_profile: { headline: 'Silver: manage your plan' },
    features: {
      invoice_history: { enabled: true },
      payment_method_update: { enabled: true },
      customer_update: { enabled: true, allowed_updates: ['email'] },
      subscription_cancel: {
        enabled: true,
        mode: 'immediately',
        proration_behavior: 'none',
        cancellation_reason: { enabled: true, options: ['unused', 'other'] },
      },
    },
    metadata: { plan: 'silver' },
  });
  assert.match(config.id, /^bpc_/);
  assert.equal(config.object, 'billing_portal.configuration');
  assert.equal(config.active, true);
  assert.equal(config.features.subscription_cancel.mode, 'immediately');
  assert.deepEqual(config.features.subscription_cancel.cancellation_reason.options, ['other', 'unused']);
  assert.deepEqual(config.features.customer_update.allowed_updates, ['email']);
  assert.equal(config.business_profile.headline, 'Silver: manage your plan');
  assert.equal(config.metadata.plan, 'silver');

  const got = await stripe.billingPortal.configurations.retrieve(config.id);
  assert.equal(got.id, config.id);
  const updated = await stripe.billingPortal.configurations.update(config.id, {
    default_return_url: 'https://shop.example.com/account',
  });
  assert.equal(updated.default_return_url, 'https://shop.example.com/account');
  const ids = [];
  for await (const c of stripe.billingPortal.configurations.list({ limit: 2 })) ids.push(c.id);
  assert.ok(ids.includes(config.id), 'the list includes the configuration');

  const session = await stripe.billingPortal.sessions.create({
    customer: customer.id,
    configuration: config.id,
    locale: 'auto',
  });
  assert.match(session.id, /^bps_/);
  assert.equal(session.object, 'billing_portal.session');
  assert.equal(session.customer, customer.id);
  assert.equal(session.configuration, config.id);
  assert.equal(session.return_url, 'https://shop.example.com/account');
  assert.ok(session.url.startsWith(`${CALMONY_URL}/portal/`), session.url);

  const page = await fetch(session.url);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('x-robots-tag'), 'noindex, nofollow');
  const html = await page.text();
  assert.ok(html.includes(sub.id), 'the page shows the subscription');
  assert.ok(html.includes('Cancel now'), 'the page offers to cancel now, as configured');
  assert.ok(html.includes('visa ending 4242'), 'the page shows the card');
});

test('a portal session refuses bad input', async () => {
  const customer = await stripe.customers.create({ email: 'alan@example.com' });
  await expectInvalid(stripe.billingPortal.sessions.create({ customer: 'cus_missing' }),
    { statusCode: 404, code: 'resource_missing', param: 'customer' }, 'unknown customer');
  await expectInvalid(stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://localhost/back' }),
    { statusCode: 400, code: 'url_invalid', param: 'return_url' }, 'localhost return_url');
  await expectInvalid(stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'javascript:alert(1)' }),
    { statusCode: 400, code: 'url_invalid', param: 'return_url' }, 'javascript: return_url');
  if (CALMONY_OTHER_KEY) {
    const theirs = await client(CALMONY_OTHER_KEY).billingPortal.configurations.create({
      features: { invoice_history: { enabled: true } },
    });
    await expectInvalid(stripe.billingPortal.sessions.create({ customer: customer.id, configuration: theirs.id }),
      { statusCode: 404, code: 'resource_missing', param: 'configuration' }, 'another project\'s configuration');
  }
  await expectInvalid(stripe.billingPortal.configurations.create({
    features: { subscription_cancel: { enabled: true, mode: 'sometimes' } },
  }), { statusCode: 400, param: 'features[subscription_cancel][mode]' }, 'an unknown cancel mode');
  await stripe.customers.del(customer.id);
  await expectInvalid(stripe.billingPortal.sessions.create({ customer: customer.id }),
    { statusCode: 404, code: 'resource_missing', param: 'customer' }, 'deleted customer');
});
