// The billing scenario end to end with the official stripe-node SDK (npm
// stripe 23.1.0, pinned in package.json) alone, step for step as
// internal/api/billing_e2e_sdk_test.go does it with stripe-go: a product and
// a monthly price, VAT, a customer on a test clock with a default card, a
// subscription with a trial, clock advances through the trial's end and two
// renewals, a subscription cancelled at its period's end, a card that starts
// declining and dunning to cancel, a manual invoice with its PDF, and every
// event delivered to a receiver run here and verified with
// stripe.webhooks.constructEvent.
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK)
// on a server of its own, since it waits for every event of its project to
// be delivered. It sets:
//   CALMONY_URL             the server's base URL, e.g. http://127.0.0.1:40123
//   CALMONY_KEY             a test-mode secret key of a project no other test uses
//   CALMONY_WEBHOOK_WORKER  "1": the server delivers webhooks, to loopback
//                           endpoint URLs too
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import Stripe from 'stripe';

const { CALMONY_URL, CALMONY_KEY, CALMONY_WEBHOOK_WORKER } = process.env;
if (!CALMONY_URL || !CALMONY_KEY || CALMONY_WEBHOOK_WORKER !== '1') {
  throw new Error(
    'CALMONY_URL, CALMONY_KEY and CALMONY_WEBHOOK_WORKER=1 must be set (a server of its own that delivers webhooks); ' +
      'run this test with: go test ./internal/api -run TestNodeSDK',
  );
}

const base = new URL(CALMONY_URL);
const stripe = new Stripe(CALMONY_KEY, {
  host: base.hostname,
  port: Number(base.port),
  protocol: base.protocol.replace(/:$/, ''),
  maxNetworkRetries: 0,
  apiVersion: '2026-03-25.dahlia',
});

const HOUR = 3600;
const DAY = 86400;

// startReceiver is a merchant's webhook endpoint on 127.0.0.1: it checks
// every delivery with stripe-node's own signature check and keeps the
// events by ID. Deliveries wait for the endpoint's secret (setSecret).
async function startReceiver() {
  let setSecret;
  const secret = new Promise((resolve) => (setSecret = resolve));
  const events = new Map();
  const refused = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      try {
        const event = stripe.webhooks.constructEvent(body, req.headers['stripe-signature'], await secret);
        events.set(event.id, event);
        res.writeHead(200).end('ok');
      } catch (err) {
        refused.push(err.message);
        res.writeHead(400).end(err.message);
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hook`,
    setSecret,
    events,
    refused,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}

// addMonths moves a unix time n months on, on its day of the month clamped
// to the month's last day, as Stripe bills from a cycle anchor (from 31
// January, one month is 28 or 29 February and two months 31 March).
function addMonths(anchor, n) {
  const t = new Date(anchor * 1000);
  const first = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + n, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(t.getUTCDate(), last));
  first.setUTCHours(t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds());
  return first.getTime() / 1000;
}

// setDefaultCard attaches a Stripe test payment method to a customer and
// makes it the default for invoices.
async function setDefaultCard(customer, card) {
  const pm = await stripe.paymentMethods.attach(card, { customer });
  await stripe.customers.update(customer, { invoice_settings: { default_payment_method: pm.id } });
}

async function sleep(ms) {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

test('billing end to end: trial with VAT, renewals, dunning to cancel, cancel at period end, a manual invoice, every webhook verified', async () => {
  const receiver = await startReceiver();
  try {
    const endpoint = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ['*'] });
    receiver.setSecret(endpoint.secret);

    const vat = await stripe.taxRates.create({
      display_name: 'VAT', percentage: 20, inclusive: false, country: 'GB', tax_type: 'vat',
    });
    const product = await stripe.products.create({ name: 'Gold plan' });
    const monthly = await stripe.prices.create({
      product: product.id, currency: 'gbp', unit_amount: 1000, recurring: { interval: 'month' },
    });

    const t0 = Math.floor(Date.now() / 1000 / HOUR) * HOUR;
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: t0, name: 'billing end to end' });
    // An advance is asynchronous: the clock is ready once the billing due
    // up to its new time has run.
    const advance = async (to) => {
      await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: to });
      const deadline = Date.now() + 5000;
      for (;;) {
        const c = await stripe.testHelpers.testClocks.retrieve(clock.id);
        if (c.status === 'ready') {
          assert.equal(c.frozen_time, to);
          return;
        }
        assert.ok(Date.now() < deadline, `clock ${clock.id} still ${c.status} after 5 s (advancing to ${to})`);
        await sleep(10);
      }
    };
    const customer = async (card) => {
      const cus = await stripe.customers.create({ name: 'Ada Lovelace', email: 'ada@example.com', test_clock: clock.id });
      if (card) await setDefaultCard(cus.id, card);
      return cus;
    };
    const sub = (id) => stripe.subscriptions.retrieve(id, { expand: ['latest_invoice'] });

    // A subscription with a fourteen-day trial and VAT, and another that
    // ends at its first period's end.
    const ada = await customer('pm_card_visa');
    const gold = await stripe.subscriptions.create({
      customer: ada.id, items: [{ price: monthly.id }], trial_period_days: 14, default_tax_rates: [vat.id],
    });
    assert.deepEqual(
      { status: gold.status, trial_end: gold.trial_end, start_date: gold.start_date },
      { status: 'trialing', trial_end: t0 + 14 * DAY, start_date: t0 },
    );
    const bob = await customer('pm_card_visa');
    const short = await stripe.subscriptions.create({ customer: bob.id, items: [{ price: monthly.id }] });
    await stripe.subscriptions.update(short.id, { cancel_at_period_end: true });

    // Through the trial's end: the first paid period, £10 + £2 VAT,
    // invoiced and, an hour later, charged off-session.
    const trialEnd = gold.trial_end;
    await advance(trialEnd + 2 * HOUR);
    let got = await sub(gold.id);
    let inv = got.latest_invoice;
    assert.equal(got.status, 'active');
    assert.deepEqual(
      { status: inv.status, total: inv.total, amount_paid: inv.amount_paid, billing_reason: inv.billing_reason,
        subscription: inv.parent?.subscription_details?.subscription },
      { status: 'paid', total: 1200, amount_paid: 1200, billing_reason: 'subscription_cycle', subscription: gold.id },
    );
    assert.equal(got.items.data[0].current_period_start, trialEnd);
    assert.equal(got.billing_cycle_anchor, trialEnd);

    // Two more renewals; meanwhile the other subscription ended at its
    // period's end.
    const secondEnd = addMonths(trialEnd, 2);
    await advance(secondEnd + 2 * HOUR);
    got = await sub(gold.id);
    assert.deepEqual(
      { status: got.status, latest: got.latest_invoice.status, period_start: got.items.data[0].current_period_start },
      { status: 'active', latest: 'paid', period_start: secondEnd },
    );
    let paid = 0;
    for await (const i of stripe.invoices.list({ subscription: gold.id })) {
      if (i.status === 'paid' && i.amount_paid === 1200) paid++;
    }
    assert.equal(paid, 3, 'renewal invoices paid');
    const ended = await sub(short.id);
    assert.deepEqual(
      { status: ended.status, ended_at: ended.ended_at },
      { status: 'canceled', ended_at: short.items.data[0].current_period_end },
    );

    // The card starts declining: past due at the next renewal (its draft
    // is finalised and charged an hour after the renewal, so half an hour
    // later the first attempt has failed and the first retry, an hour after
    // it, is not due yet), then the default schedule (an hour, a day, three
    // days), then cancelled.
    await setDefaultCard(ada.id, 'pm_card_chargeCustomerFail');
    const next = got.items.data[0].current_period_end;
    await advance(next + HOUR + 30 * 60);
    got = await sub(gold.id);
    const failing = got.latest_invoice;
    assert.deepEqual(
      { status: got.status, invoice: failing.status, attempt_count: failing.attempt_count },
      { status: 'past_due', invoice: 'open', attempt_count: 1 },
    );
    assert.ok(failing.next_payment_attempt > 0, `next_payment_attempt ${failing.next_payment_attempt}`);
    await advance(next + 6 * DAY);
    got = await sub(gold.id);
    assert.deepEqual(
      { status: got.status, reason: got.cancellation_details?.reason, attempt_count: got.latest_invoice.attempt_count },
      { status: 'canceled', reason: 'payment_failed', attempt_count: 4 },
    );

    // A manual invoice: two items at VAT, its PDF.
    const cleo = await customer('');
    for (const description of ['Darjeeling', 'Assam']) {
      await stripe.invoiceItems.create({
        customer: cleo.id, amount: 1500, currency: 'gbp', description, tax_rates: [vat.id],
      });
    }
    let manual = await stripe.invoices.create({
      customer: cleo.id, collection_method: 'send_invoice', days_until_due: 30, pending_invoice_items_behavior: 'include',
    });
    manual = await stripe.invoices.finalizeInvoice(manual.id);
    assert.equal(manual.total, 3600);
    assert.ok(manual.hosted_invoice_url, 'hosted_invoice_url');
    const res = await fetch(manual.invoice_pdf);
    const pdf = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200, `GET ${manual.invoice_pdf}`);
    assert.equal(pdf.subarray(0, 4).toString('latin1'), '%PDF');
    const text = pdfText(pdf);
    if (text !== null) {
      for (const want of [manual.number, 'Darjeeling', 'Assam', '£36.00', 'VAT']) {
        assert.ok(text.includes(want), `the PDF has no ${want}:\n${text}`);
      }
    }

    // Every event was delivered, and verified by stripe-node.
    const all = [];
    for await (const e of stripe.events.list({ limit: 100 })) all.push(e);
    const deadline = Date.now() + 30_000;
    for (;;) {
      assert.equal(receiver.refused.length, 0, `deliveries stripe-node refused: ${receiver.refused.length}, the first: ${receiver.refused[0]}`);
      const missing = all.filter((e) => !receiver.events.has(e.id));
      if (missing.length === 0) break;
      assert.ok(Date.now() < deadline, `${missing.length} of ${all.length} events not delivered after 30 s, such as ${missing[0].type} ${missing[0].id}`);
      await sleep(50);
    }
    const seen = new Set(all.map((e) => e.type));
    const wanted = ['customer.subscription.created', 'customer.subscription.updated',
      'customer.subscription.trial_will_end', 'customer.subscription.deleted', 'invoice.upcoming', 'invoice.created',
      'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded', 'invoice.payment_failed', 'payment_intent.succeeded',
      'payment_intent.payment_failed', 'test_helpers.test_clock.ready', 'invoiceitem.created'];
    assert.deepEqual(wanted.filter((type) => !seen.has(type)), [], 'event types never sent');
  } finally {
    receiver.close();
  }
});

// pdfText returns a PDF's text (pdftotext), or null with a visible line
// when pdftotext is not installed.
function pdfText(pdf) {
  try {
    return execFileSync('pdftotext', ['-layout', '-', '-'], { input: pdf, encoding: 'utf8' });
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    console.log('pdftotext is not installed: the PDF\'s text is not checked');
    return null;
  }
}
