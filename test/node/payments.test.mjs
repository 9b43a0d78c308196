// Drives payments (/v1/payment_methods, /v1/payment_intents, /v1/charges,
// /v1/refunds) and hosted checkout (/v1/checkout/sessions) of a running
// Calmony Pay server with the official stripe-node SDK (npm stripe 23.1.0,
// pinned in package.json). The Go equivalents are
// internal/api/payments_sdk_test.go and internal/api/checkout_test.go.
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK),
// which starts a server (test mode: the in-process Cardstream sandbox, which
// declines by amount) and sets:
//   CALMONY_URL        the server's base URL, e.g. http://127.0.0.1:40123
//   CALMONY_KEY        a test-mode secret key of a project
//   CALMONY_OTHER_KEY  a test-mode secret key of another project (optional:
//                      the isolation test is skipped without it)
//
// Every request goes to the test server: checkout URLs (shop.example.com)
// are only compared, never followed.
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

const API_VERSION = '2026-03-25.dahlia';
const base = new URL(CALMONY_URL);

function client(key = CALMONY_KEY) {
  return new Stripe(key, {
    host: base.hostname,
    port: Number(base.port),
    protocol: 'http',
    apiVersion: API_VERSION,
    maxNetworkRetries: 0,
  });
}

const stripe = client();
const unique = () => randomUUID().slice(0, 8);
const EXP_YEAR = new Date().getFullYear() + 2;

// expectStripeError awaits promise and checks it rejects with an instance of
// cls carrying the given fields; it returns the error.
async function expectStripeError(promise, cls, want, what) {
  let caught;
  await assert.rejects(promise, (err) => {
    assert.ok(
      err instanceof cls,
      `${what}: got ${err?.constructor?.name} (${err?.statusCode} ${err?.rawType} ${err?.code}: ${err?.message}), want ${cls.name}`,
    );
    const got = {};
    for (const k of Object.keys(want)) got[k] = err[k];
    assert.deepEqual(got, want, `${what}: error fields (message: ${err.message})`);
    assert.match(err.requestId ?? '', /^req_/, `${what}: requestId from the Request-Id header`);
    assert.ok(err.message, `${what}: error has a message`);
    caught = err;
    return true;
  });
  return caught;
}

function card(number, cvc, extra = {}) {
  return stripe.paymentMethods.create({
    type: 'card',
    card: { number, exp_month: 12, exp_year: EXP_YEAR, cvc },
    ...extra,
  });
}

// pay creates and confirms a GBP payment intent in one request.
function pay(pm, amount, extra = {}, options) {
  return stripe.paymentIntents.create(
    { amount, currency: 'gbp', payment_method: pm, confirm: true, ...extra },
    options,
  );
}

// A card shared by the tests that only need some card (created once, lazily).
let sharedCard;
async function visaCard() {
  sharedCard ??= card('4929421234600821', '356');
  return (await sharedCard).id;
}

// assertKeysetOrder checks a list is newest first as the server pages it:
// by (created, id) descending. created has whole seconds, so objects made in
// the same second are ordered by ID, not by when they were made.
function assertKeysetOrder(objs, what) {
  for (let i = 1; i < objs.length; i++) {
    const [a, b] = [objs[i - 1], objs[i]];
    assert.ok(
      a.created > b.created || (a.created === b.created && a.id > b.id),
      `${what}: not in (created, id) descending order at ${i}: ${objs.map((o) => `${o.created}/${o.id}`).join(', ')}`,
    );
  }
}

async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

test('payment methods: Cardstream test cards give brand, last4 and funding', async () => {
  for (const [number, cvc, brand, funding] of [
    ['4929421234600821', '356', 'visa', 'credit'],
    ['5301250070000191', '419', 'mastercard', 'credit'],
    ['4539791001730106', '289', 'visa', 'debit'],
  ]) {
    const pm = await card(number, cvc, { metadata: { source: 'node' }, billing_details: { name: 'Ada Lovelace' } });
    assert.match(pm.id, /^pm_/);
    assert.equal(pm.object, 'payment_method');
    assert.equal(pm.type, 'card');
    assert.equal(pm.livemode, false);
    assert.equal(pm.customer, null);
    assert.deepEqual(pm.metadata, { source: 'node' });
    assert.equal(pm.billing_details?.name, 'Ada Lovelace');
    const { brand: gotBrand, last4, funding: gotFunding, exp_month, exp_year } = pm.card;
    assert.deepEqual(
      { brand: gotBrand, last4, funding: gotFunding, exp_month, exp_year },
      { brand, last4: number.slice(-4), funding, exp_month: 12, exp_year: EXP_YEAR },
      `card ${number.slice(0, 6)}…`,
    );
    assert.equal(pm.card.checks?.cvc_check, 'pass', 'cvc_check');
    const body = JSON.stringify(pm);
    assert.ok(!body.includes(number), 'the response does not echo the card number');

    const got = await stripe.paymentMethods.retrieve(pm.id);
    assert.deepEqual(got.card, pm.card, 'retrieve');
  }
});

test('payment methods: an invalid number is a StripeCardError incorrect_number', async () => {
  const err = await expectStripeError(
    card('4929421234600822', '356'),
    Stripe.errors.StripeCardError,
    { statusCode: 402, type: 'StripeCardError', rawType: 'card_error', code: 'incorrect_number' },
    'Luhn failure',
  );
  assert.ok(!err.message.includes('4929421234600822'), 'the error does not echo the number');
  await expectStripeError(
    card('4929421234600821', '35'),
    Stripe.errors.StripeCardError,
    { statusCode: 402, code: 'invalid_cvc' },
    'short CVC',
  );
});

test('payment methods: attach pm_card_visa, list a customer\'s, detach', async () => {
  const cus = await stripe.customers.create({ email: `card+${unique()}@example.com` });
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: cus.id });
  assert.match(pm.id, /^pm_/);
  assert.notEqual(pm.id, 'pm_card_visa', 'a test payment-method ID makes a new payment method');
  assert.equal(pm.customer, cus.id);
  assert.equal(pm.card.brand, 'visa');

  const viaCustomer = await collect(stripe.customers.listPaymentMethods(cus.id));
  assert.deepEqual(viaCustomer.map((p) => p.id), [pm.id], 'customers.listPaymentMethods');
  const viaList = await collect(stripe.paymentMethods.list({ customer: cus.id, type: 'card' }));
  assert.deepEqual(viaList.map((p) => p.id), [pm.id], 'paymentMethods.list({customer})');

  const detached = await stripe.paymentMethods.detach(pm.id);
  assert.equal(detached.id, pm.id);
  assert.equal(detached.customer, null);
  assert.deepEqual(await collect(stripe.customers.listPaymentMethods(cus.id)), [], 'list after detach');
  await expectStripeError(
    stripe.paymentMethods.detach(pm.id),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400 },
    'second detach',
  );
});

test("Stripe's test cards: any CVC and expiry, Stripe's card shown, charged as Stripe documents", async () => {
  for (const [number, brand, funding, cvc] of [
    ['4242424242424242', 'visa', 'credit', '123'],
    ['5555555555554444', 'mastercard', 'credit', '123'],
    ['4000056655665556', 'visa', 'debit', '999'],
    ['378282246310005', 'amex', 'credit', '1234'],
  ]) {
    const pm = await stripe.paymentMethods.create({ type: 'card', card: { number, exp_month: 7, exp_year: EXP_YEAR + 3, cvc } });
    const { brand: gotBrand, last4, funding: gotFunding, exp_month, exp_year } = pm.card;
    assert.deepEqual(
      { brand: gotBrand, last4, funding: gotFunding, exp_month, exp_year },
      { brand, last4: number.slice(-4), funding, exp_month: 7, exp_year: EXP_YEAR + 3 },
      `card ${number}`,
    );
    const pi = await pay(pm.id, 2000);
    assert.equal(pi.status, 'succeeded', `charge of ${number}`);
  }
  const visa = await stripe.paymentMethods.retrieve('pm_card_visa');
  assert.equal(visa.id, 'pm_card_visa');
  assert.equal(visa.card.last4, '4242');
  assert.deepEqual(await stripe.paymentMethods.retrieve('pm_card_visa'), visa, 'a second retrieve');

  for (const [pm, code, decline_code] of [
    ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc'],
  ]) {
    const err = await expectStripeError(pay(pm, 2000), Stripe.errors.StripeCardError, { statusCode: 402, code, decline_code }, pm);
    assert.equal(err.raw.payment_intent?.status, 'requires_payment_method', `${pm}: the declined intent`);
  }
  const cus = await stripe.customers.create({ payment_method: 'pm_card_visa' });
  const [attached] = await collect(stripe.customers.listPaymentMethods(cus.id));
  assert.equal(attached?.card?.last4, '4242', 'customers.create({payment_method: pm_card_visa})');
});

test('payment intents: an approved amount succeeds and its charge is captured', async () => {
  const pm = await visaCard();
  const pi = await pay(pm, 1000, { description: 'node order', metadata: { order: '1' } });
  assert.match(pi.id, /^pi_/);
  assert.equal(pi.object, 'payment_intent');
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount, 1000);
  assert.equal(pi.amount_received, 1000);
  assert.equal(pi.currency, 'gbp');
  assert.equal(pi.payment_method, pm);
  assert.deepEqual(pi.metadata, { order: '1' });
  assert.match(pi.latest_charge ?? '', /^ch_/, 'latest_charge is a charge ID');

  const ch = await stripe.charges.retrieve(pi.latest_charge);
  assert.equal(ch.object, 'charge');
  assert.equal(ch.payment_intent, pi.id);
  assert.equal(ch.status, 'succeeded');
  assert.equal(ch.paid, true);
  assert.equal(ch.captured, true);
  assert.equal(ch.amount, 1000);
  assert.equal(ch.amount_captured, 1000);
  assert.equal(ch.amount_refunded, 0);
  assert.equal(ch.refunded, false);
  assert.equal(ch.payment_method_details?.card?.last4, '0821');

  const expanded = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
  assert.equal(expanded.latest_charge?.id, ch.id, 'expand latest_charge');
});

for (const [amount, declineCode] of [
  [10000, 'do_not_honor'],
  [5000, 'call_issuer'],
  [20000, 'authentication_required'],
]) {
  test(`payment intents: amount ${amount} is declined with ${declineCode}`, async () => {
    const pm = await visaCard();
    const err = await expectStripeError(
      pay(pm, amount),
      Stripe.errors.StripeCardError,
      { statusCode: 402, type: 'StripeCardError', rawType: 'card_error', decline_code: declineCode },
      `amount ${amount}`,
    );
    assert.equal(err.raw.decline_code, declineCode);
    const fromErr = err.payment_intent ?? err.raw.payment_intent;
    assert.match(fromErr?.id ?? '', /^pi_/, 'the card error carries its payment_intent');
    assert.equal(fromErr.status, 'requires_payment_method', 'payment_intent in the error');
    assert.equal(fromErr.amount, amount);

    const got = await stripe.paymentIntents.retrieve(fromErr.id);
    assert.equal(got.status, 'requires_payment_method');
    assert.equal(got.amount_received, 0);
    assert.equal(got.last_payment_error?.type, 'card_error');
    assert.equal(got.last_payment_error?.decline_code, declineCode);
  });
}

test('payment intents: an SCA amount succeeds off-session', async () => {
  const pi = await pay(await visaCard(), 20000, { off_session: true });
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.amount_received, 20000);
  const ch = await stripe.charges.retrieve(pi.latest_charge);
  assert.equal(ch.captured, true);
  assert.equal(ch.amount_captured, 20000);
});

test('manual capture: partial capture, second capture refused, cancel an authorisation', async () => {
  const pm = (await card('5301250070000191', '419')).id;
  const auth = await pay(pm, 2000, { capture_method: 'manual' });
  assert.equal(auth.status, 'requires_capture');
  assert.equal(auth.capture_method, 'manual');
  assert.equal(auth.amount_capturable, 2000);
  assert.equal(auth.amount_received, 0);

  await expectStripeError(
    stripe.paymentIntents.capture(auth.id, { amount_to_capture: 2001 }),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400, code: 'amount_too_large' },
    'capturing more than authorised',
  );
  const captured = await stripe.paymentIntents.capture(auth.id, { amount_to_capture: 1500 });
  assert.equal(captured.status, 'succeeded');
  assert.equal(captured.amount_received, 1500);
  assert.equal(captured.amount_capturable, 0);
  const ch = await stripe.charges.retrieve(captured.latest_charge);
  assert.equal(ch.captured, true);
  assert.equal(ch.amount_captured, 1500);

  await expectStripeError(
    stripe.paymentIntents.capture(auth.id),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400, code: 'payment_intent_unexpected_state' },
    'second capture',
  );

  const other = await pay(pm, 1200, { capture_method: 'manual' });
  assert.equal(other.status, 'requires_capture');
  const canceled = await stripe.paymentIntents.cancel(other.id, { cancellation_reason: 'requested_by_customer' });
  assert.equal(canceled.status, 'canceled');
  assert.equal(canceled.cancellation_reason, 'requested_by_customer');
  assert.equal(typeof canceled.canceled_at, 'number');
  assert.equal((await stripe.paymentIntents.retrieve(other.id)).status, 'canceled');
  await expectStripeError(
    stripe.paymentIntents.cancel(other.id),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400, code: 'payment_intent_unexpected_state' },
    'second cancel',
  );
});

test('refunds: partial, too large, the rest, then already refunded; list and update', async () => {
  const pi = await pay(await visaCard(), 1800);
  assert.equal(pi.status, 'succeeded');

  const first = await stripe.refunds.create({ payment_intent: pi.id, amount: 500, reason: 'requested_by_customer' });
  assert.match(first.id, /^re_/);
  assert.equal(first.object, 'refund');
  assert.equal(first.status, 'succeeded');
  assert.equal(first.amount, 500);
  assert.equal(first.currency, 'gbp');
  assert.equal(first.charge, pi.latest_charge);
  assert.equal(first.payment_intent, pi.id);
  assert.equal(first.reason, 'requested_by_customer');

  await expectStripeError(
    stripe.refunds.create({ payment_intent: pi.id, amount: 1301 }),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400, code: 'amount_too_large' },
    'refunding more than is left',
  );
  const partial = await stripe.charges.retrieve(pi.latest_charge);
  assert.equal(partial.amount_refunded, 500);
  assert.equal(partial.refunded, false);

  const rest = await stripe.refunds.create({ payment_intent: pi.id });
  assert.equal(rest.status, 'succeeded');
  assert.equal(rest.amount, 1300, 'a refund without amount refunds what is left');

  const ch = await stripe.charges.retrieve(pi.latest_charge);
  assert.equal(ch.amount_refunded, 1800);
  assert.equal(ch.refunded, true);

  await expectStripeError(
    stripe.refunds.create({ charge: ch.id }),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400, code: 'charge_already_refunded' },
    'refunding a fully refunded charge',
  );

  const sc = client();
  const requests = [];
  sc.on('request', (e) => requests.push(`${e.method} ${e.path}`));
  const listed = await collect(sc.refunds.list({ payment_intent: pi.id, limit: 1 }));
  assert.deepEqual(listed.map((r) => r.id).toSorted(), [first.id, rest.id].toSorted(), 'refunds.list({payment_intent})');
  assertKeysetOrder(listed, 'refunds.list({payment_intent})');
  assert.ok(requests.length >= 2, `auto-pagination made ${requests.length} requests: ${requests.join(', ')}`);
  assert.match(requests[1], new RegExp(`starting_after=${listed[0].id}`), 'second page starts after the first');
  assert.deepEqual(
    (await collect(stripe.refunds.list({ charge: ch.id }))).map((r) => r.id),
    listed.map((r) => r.id),
    'refunds.list({charge})',
  );

  const updated = await stripe.refunds.update(first.id, { metadata: { ticket: 'T-42' } });
  assert.deepEqual(updated.metadata, { ticket: 'T-42' });
  assert.equal(updated.amount, 500);
  assert.deepEqual((await stripe.refunds.retrieve(first.id)).metadata, { ticket: 'T-42' }, 'retrieve after update');
});

test('idempotency: confirming twice with one key charges once', async () => {
  const pi = await stripe.paymentIntents.create({ amount: 1500, currency: 'gbp', payment_method: await visaCard() });
  assert.equal(pi.status, 'requires_confirmation');
  const idempotencyKey = `node-confirm-${randomUUID()}`;
  const first = await stripe.paymentIntents.confirm(pi.id, {}, { idempotencyKey });
  const second = await stripe.paymentIntents.confirm(pi.id, {}, { idempotencyKey });
  assert.equal(first.status, 'succeeded');
  assert.equal(second.status, 'succeeded');
  assert.equal(second.id, first.id);
  assert.equal(second.latest_charge, first.latest_charge, 'same charge');
  assert.equal(first.lastResponse.headers['idempotent-replayed'], undefined, 'first response is not a replay');
  assert.equal(second.lastResponse.headers['idempotent-replayed'], 'true', 'second response is a replay');
  assert.equal(second.lastResponse.idempotencyKey, idempotencyKey);

  const charges = await collect(stripe.charges.list({ payment_intent: pi.id }));
  assert.deepEqual(charges.map((c) => c.id), [first.latest_charge], 'one charge for two keyed confirms');

  // Without the key, a second confirm of a succeeded intent is refused.
  await expectStripeError(
    stripe.paymentIntents.confirm(pi.id),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400, code: 'payment_intent_unexpected_state' },
    'confirm of a succeeded intent',
  );
});

test("another project's key cannot see payment intents, charges or refunds", { skip: !CALMONY_OTHER_KEY && 'CALMONY_OTHER_KEY is not set' }, async () => {
  const pi = await pay(await visaCard(), 1100);
  const re = await stripe.refunds.create({ payment_intent: pi.id, amount: 100 });
  const other = client(CALMONY_OTHER_KEY);
  const missing = { statusCode: 404, code: 'resource_missing' };
  for (const [what, call] of [
    ['paymentIntents.retrieve', () => other.paymentIntents.retrieve(pi.id)],
    ['charges.retrieve', () => other.charges.retrieve(pi.latest_charge)],
    ['refunds.retrieve', () => other.refunds.retrieve(re.id)],
    ['paymentIntents.cancel', () => other.paymentIntents.cancel(pi.id)],
    ['refunds.create', () => other.refunds.create({ payment_intent: pi.id, amount: 100 })],
  ]) {
    await expectStripeError(call(), Stripe.errors.StripeInvalidRequestError, missing, what);
  }
  assert.deepEqual(await collect(other.charges.list({ payment_intent: pi.id })), [], 'charges.list');
  assert.deepEqual(await collect(other.refunds.list({ payment_intent: pi.id })), [], 'refunds.list');
  const ch = await stripe.charges.retrieve(pi.latest_charge);
  assert.equal(ch.amount_refunded, 100, 'unchanged for its owner');
});

function sessionParams(extra = {}) {
  return {
    mode: 'payment',
    line_items: [
      {
        quantity: 1,
        price_data: { currency: 'gbp', unit_amount: 1250, product_data: { name: 'T-shirt' } },
      },
    ],
    success_url: 'https://shop.example.com/ok?cs={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://shop.example.com/cancel',
    ...extra,
  };
}

test('checkout: create, retrieve with line_items, listLineItems, expire', async () => {
  const ref = `order-${unique()}`;
  const cs = await stripe.checkout.sessions.create(sessionParams({ client_reference_id: ref, metadata: { order: ref } }));
  assert.match(cs.id, /^cs_test_/);
  assert.equal(cs.object, 'checkout.session');
  assert.equal(cs.mode, 'payment');
  assert.equal(cs.status, 'open');
  assert.equal(cs.payment_status, 'unpaid');
  assert.equal(cs.amount_total, 1250);
  assert.equal(cs.currency, 'gbp');
  assert.equal(cs.livemode, false);
  assert.equal(cs.client_reference_id, ref);
  assert.deepEqual(cs.metadata, { order: ref });
  assert.equal(cs.success_url, 'https://shop.example.com/ok?cs={CHECKOUT_SESSION_ID}');
  assert.equal(cs.cancel_url, 'https://shop.example.com/cancel');
  assert.ok(cs.url, 'an open session has a url');
  // The page is served by this server; it is not fetched here.
  const page = new URL(cs.url);
  assert.equal(page.host, base.host, `url ${cs.url} points at the server`);
  assert.ok(page.pathname.endsWith(cs.id), `url ${cs.url} names the session`);
  assert.ok(cs.expires_at > cs.created, 'expires_at after created');

  const got = await stripe.checkout.sessions.retrieve(cs.id, { expand: ['line_items'] });
  assert.equal(got.id, cs.id);
  assert.equal(got.line_items?.object, 'list');
  assert.equal(got.line_items.data.length, 1);
  const [item] = got.line_items.data;
  assert.equal(item.object, 'item');
  assert.equal(item.description, 'T-shirt');
  assert.equal(item.quantity, 1);
  assert.equal(item.amount_total, 1250);
  assert.equal(item.currency, 'gbp');
  assert.equal(item.price?.unit_amount, 1250);

  const items = await collect(stripe.checkout.sessions.listLineItems(cs.id));
  assert.deepEqual(items.map((i) => i.id), [item.id], 'listLineItems');
  assert.equal(items[0].description, 'T-shirt');
  assert.equal(items[0].amount_total, 1250);

  const expired = await stripe.checkout.sessions.expire(cs.id);
  assert.equal(expired.status, 'expired');
  assert.equal(expired.payment_status, 'unpaid');
  assert.equal(expired.url, null, 'an expired session has no url');
  assert.equal((await stripe.checkout.sessions.retrieve(cs.id)).status, 'expired');
  await expectStripeError(
    stripe.checkout.sessions.expire(cs.id),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400 },
    'expire twice',
  );
});

test('checkout: a loopback success_url is url_invalid', async () => {
  await expectStripeError(
    stripe.checkout.sessions.create(sessionParams({ success_url: 'http://127.0.0.1/x' })),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400, code: 'url_invalid', param: 'success_url' },
    'success_url http://127.0.0.1/x',
  );
  await expectStripeError(
    stripe.checkout.sessions.create(sessionParams({ cancel_url: 'https://localhost/cancel' })),
    Stripe.errors.StripeInvalidRequestError,
    { statusCode: 400, code: 'url_invalid', param: 'cancel_url' },
    'cancel_url https://localhost/cancel',
  );
});
