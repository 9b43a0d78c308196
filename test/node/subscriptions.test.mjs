// Drives /v1/subscriptions of a running Calmony Pay server
// with the official stripe-node SDK (npm stripe 23.1.0, pinned in
// package.json).
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK),
// which starts a server and sets CALMONY_URL, CALMONY_KEY and
// CALMONY_OTHER_KEY (a key of another project) as for customers.test.mjs.
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

test('subscribe a customer, update and cancel', async () => {
  const customer = await stripe.customers.create({ name: 'Node Subscriber' });
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const price = await stripe.prices.create({
    currency: 'gbp', unit_amount: 1200, recurring: { interval: 'month' }, product_data: { name: 'Node plan' },
  });

  const sub = await stripe.subscriptions.create({
    customer: customer.id, items: [{ price: price.id, quantity: 2 }], expand: ['latest_invoice'],
  });
  assert.match(sub.id, /^sub_/);
  assert.equal(sub.object, 'subscription');
  assert.equal(sub.status, 'active');
  assert.equal(sub.billing_mode.type, 'classic');
  assert.equal(sub.trial_end, null);
  assert.equal(sub.items.object, 'list');
  assert.equal(sub.items.data[0].price.id, price.id);
  assert.equal(sub.items.data[0].quantity, 2);
  assert.ok(sub.items.data[0].current_period_end > sub.items.data[0].current_period_start);
  assert.equal(sub.latest_invoice.status, 'paid');
  assert.equal(sub.latest_invoice.amount_paid, 2400);
  assert.equal(sub.latest_invoice.billing_reason, 'subscription_create');
  assert.equal(sub.latest_invoice.parent.subscription_details.subscription, sub.id);

  const listed = await stripe.subscriptions.list({ customer: customer.id, price: price.id });
  assert.deepEqual(listed.data.map((s) => s.id), [sub.id]);

  const updated = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true, metadata: { seat: 'a' } });
  assert.equal(updated.cancel_at_period_end, true);
  assert.equal(updated.metadata.seat, 'a');

  const canceled = await stripe.subscriptions.cancel(sub.id);
  assert.equal(canceled.status, 'canceled');
  assert.ok(canceled.ended_at > 0);

  await assert.rejects(stripe.subscriptions.update(sub.id, { description: 'late' }), (err) => err.statusCode === 400);
  if (CALMONY_OTHER_KEY) {
    await assert.rejects(client(CALMONY_OTHER_KEY).subscriptions.retrieve(sub.id), (err) => err.code === 'resource_missing');
  }
});

test('subscription bad input names the parameter', async () => {
  const customer = await stripe.customers.create({ name: 'Node Bad' });
  const once = await stripe.prices.create({ currency: 'gbp', unit_amount: 100, product_data: { name: 'Once' } });
  await assert.rejects(
    stripe.subscriptions.create({ customer: customer.id, items: [{ price: once.id }] }),
    (err) => err.statusCode === 400 && err.param === 'items[0][price]',
  );
});

test('an upgrade is prorated, and always_invoice charges the difference at once', async () => {
  const customer = await stripe.customers.create({ name: 'Node Upgrader' });
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const plan = await stripe.prices.create({
    currency: 'gbp', unit_amount: 1200, recurring: { interval: 'month' }, product_data: { name: 'Node plan' },
  });
  const pro = await stripe.prices.create({
    currency: 'gbp', unit_amount: 3000, recurring: { interval: 'month' }, product_data: { name: 'Node pro' },
  });
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: plan.id }] });
  const item = sub.items.data[0];
  // Prorated as of the middle of the period (a period is a whole number of
  // days, so an even number of seconds): half of each price, exactly.
  const half = item.current_period_start + (item.current_period_end - item.current_period_start) / 2;

  const upgraded = await stripe.subscriptions.update(sub.id, {
    items: [{ id: item.id, price: pro.id }],
    proration_behavior: 'always_invoice',
    proration_date: half,
    expand: ['latest_invoice'],
  });
  assert.equal(upgraded.items.data[0].id, item.id);
  assert.equal(upgraded.items.data[0].price.id, pro.id);
  assert.equal(upgraded.status, 'active');
  const invoice = upgraded.latest_invoice;
  assert.notEqual(invoice.id, sub.latest_invoice);
  assert.equal(invoice.billing_reason, 'subscription_update');
  assert.equal(invoice.status, 'paid');
  assert.equal(invoice.amount_paid, 900); // 1500 for pro's half, less 600 for plan's
  const lines = [...invoice.lines.data].sort((a, b) => a.amount - b.amount);
  assert.deepEqual(lines.map((l) => l.amount), [-600, 1500]);
  assert.match(lines[0].description, /^Unused time on Node plan after /);
  assert.match(lines[1].description, /^Remaining time on Node pro after /);
  for (const l of lines) {
    assert.equal(l.parent.type, 'subscription_item_details');
    assert.equal(l.parent.subscription_item_details.proration, true);
    assert.equal(l.parent.subscription_item_details.subscription_item, item.id);
    assert.equal(l.period.start, half);
    assert.equal(l.period.end, item.current_period_end);
  }

  // create_prorations (the default) leaves them pending for the next
  // invoice; a new item through /v1/subscription_items is prorated alike.
  const seats = await stripe.prices.create({
    currency: 'gbp', unit_amount: 400, recurring: { interval: 'month' }, product_data: { name: 'Node seats' },
  });
  const added = await stripe.subscriptionItems.create({
    subscription: sub.id, price: seats.id, quantity: 2, proration_date: half,
  });
  assert.equal(added.quantity, 2);
  const pending = await stripe.invoiceItems.list({ customer: customer.id, pending: true });
  assert.deepEqual(pending.data.map((ii) => ii.amount), [400]);
  assert.equal(pending.data[0].proration, true);
  assert.equal(pending.data[0].parent.subscription_details.subscription, sub.id);
  assert.equal(pending.data[0].parent.subscription_details.subscription_item, added.id);
  const items = await stripe.subscriptionItems.list({ subscription: sub.id });
  assert.deepEqual(items.data.map((i) => i.id), [item.id, added.id]);
});
