// Drives /v1/invoiceitems and /v1/invoices of a running Calmony Pay server
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

test('invoice a customer, finalize and pay', async () => {
  const customer = await stripe.customers.create({ name: 'Node Customer', email: 'node@example.com' });
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
  const vat = await stripe.taxRates.create({ display_name: 'VAT', percentage: 20, inclusive: false });

  const item = await stripe.invoiceItems.create({
    customer: customer.id, amount: 1250, currency: 'gbp', quantity: 2, description: 'Lessons', tax_rates: [vat.id],
  });
  assert.match(item.id, /^ii_/);
  assert.equal(item.object, 'invoiceitem');
  assert.equal(item.amount, 2500);
  assert.equal(item.invoice, null);
  assert.equal(item.tax_rates[0].id, vat.id);

  const draft = await stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include' });
  assert.equal(draft.status, 'draft');
  assert.equal(draft.number, null);
  assert.equal(draft.hosted_invoice_url, null);
  assert.equal(draft.invoice_pdf, null);
  assert.equal(draft.subtotal, 2500);
  assert.equal(draft.total, 3000);
  assert.deepEqual(draft.total_taxes.map((t) => [t.amount, t.tax_rate_details.tax_rate]), [[500, vat.id]]);
  assert.equal(draft.lines.data[0].parent.invoice_item_details.invoice_item, item.id);

  const open = await stripe.invoices.finalizeInvoice(draft.id);
  assert.equal(open.status, 'open');
  assert.match(open.number, /^[0-9A-Z]{8}-\d{4}$/);
  assert.ok(open.hosted_invoice_url);

  const lines = await stripe.invoices.listLineItems(open.id);
  assert.equal(lines.data.length, 1);
  assert.equal(lines.data[0].taxes[0].amount, 500);

  const paid = await stripe.invoices.pay(open.id);
  assert.equal(paid.status, 'paid');
  assert.equal(paid.amount_paid, 3000);
  assert.equal(paid.amount_remaining, 0);
  assert.equal(paid.payments.data[0].status, 'paid');

  await assert.rejects(stripe.invoices.voidInvoice(open.id), (err) => err.code === 'invoice_unexpected_state');
  if (CALMONY_OTHER_KEY) {
    await assert.rejects(client(CALMONY_OTHER_KEY).invoices.retrieve(open.id), (err) => err.code === 'resource_missing');
  }
});
