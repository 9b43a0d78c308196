// Drives 3-D Secure (issue 19) of a running Calmony Pay server with the
// official stripe-node SDK (npm stripe 23.1.0): each of Stripe's 3-D Secure
// test cards on-session (challenge passed and failed, frictionless, not
// enrolled) and off-session (authentication_required). The browser's part
// (our 3-D Secure page, the sandbox's test ACS, the return) is done with
// fetch, as the page's form would; internal/api/threeds_browser_test.go
// does it in a real Chromium. The Go equivalent is
// internal/api/threeds_sdk_test.go.
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Stripe from 'stripe';

const { CALMONY_URL, CALMONY_KEY } = process.env;
if (!CALMONY_URL || !CALMONY_KEY) {
  throw new Error('CALMONY_URL and CALMONY_KEY must be set; run these tests with: go test ./internal/api -run TestNodeSDK');
}
const base = new URL(CALMONY_URL);
const stripe = new Stripe(CALMONY_KEY, {
  host: base.hostname,
  port: Number(base.port),
  protocol: 'http',
  apiVersion: '2026-03-25.dahlia',
  maxNetworkRetries: 0,
});
const RETURN_URL = 'https://shop.example.com/checkout/done?order=42';

const unescape = (s) =>
  s.replaceAll('&amp;', '&').replaceAll('&#34;', '"').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');

// authenticate does what the customer's browser does with next_action's
// url: the page's form to the ACS, the ACS's button for letter, the ACS's
// form back to us. It returns the address our answer sends the browser on to.
async function authenticate(url, letter) {
  const page = await (await fetch(url)).text();
  const action = unescape(page.match(/<form[^>]*method="post" action="([^"]*)"/)[1]);
  const fields = new URLSearchParams();
  for (const m of page.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields.set(unescape(m[1]), unescape(m[2]));
  const acs = await (await fetch(action, { method: 'POST', body: fields })).text();
  const back = unescape(acs.match(/<form[^>]*method="post" action="([^"]*)"/)[1]);
  const cres = unescape(acs.match(new RegExp(`name="cres" value="([^"]*:${letter})"`))[1]);
  const res = await fetch(back, { method: 'POST', body: new URLSearchParams({ cres }) });
  const done = await res.text();
  assert.equal(res.status, 200, done);
  return new URL(unescape(done.match(/<a id="continue" href="([^"]*)">/)[1]));
}

async function confirmed(pm, extra = {}) {
  return stripe.paymentIntents.create({
    amount: 1500, currency: 'gbp', payment_method: pm, confirm: true, return_url: RETURN_URL, ...extra,
  });
}

async function threeDSecure(pi) {
  const full = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
  return full.latest_charge.payment_method_details.card.three_d_secure;
}

for (const pm of ['pm_card_threeDSecure2Required', 'pm_card_authenticationRequired', 'pm_card_authenticationRequiredOnSetup']) {
  test(`${pm}: challenge passed`, async () => {
    const pi = await confirmed(pm);
    assert.equal(pi.status, 'requires_action');
    assert.equal(pi.next_action.type, 'redirect_to_url');
    assert.equal(pi.next_action.redirect_to_url.return_url, RETURN_URL);
    const back = await authenticate(pi.next_action.redirect_to_url.url, 'Y');
    assert.equal(back.origin + back.pathname, 'https://shop.example.com/checkout/done');
    assert.equal(back.searchParams.get('order'), '42');
    assert.equal(back.searchParams.get('payment_intent'), pi.id);
    assert.equal(back.searchParams.get('payment_intent_client_secret'), pi.client_secret);
    assert.equal(back.searchParams.get('redirect_status'), 'succeeded');
    const got = await stripe.paymentIntents.retrieve(pi.id, { client_secret: back.searchParams.get('payment_intent_client_secret') });
    assert.equal(got.status, 'succeeded');
    assert.equal(got.next_action, null);
    const tds = await threeDSecure(pi);
    assert.equal(tds.result, 'authenticated');
    assert.equal(tds.authentication_flow, 'challenge');
    assert.equal(tds.version, '2.2.0');
  });
}

test('challenge failed: requires_payment_method with payment_intent_authentication_failure', async () => {
  const pi = await confirmed('pm_card_threeDSecure2Required');
  const back = await authenticate(pi.next_action.redirect_to_url.url, 'N');
  assert.equal(back.searchParams.get('redirect_status'), 'failed');
  const got = await stripe.paymentIntents.retrieve(pi.id);
  assert.equal(got.status, 'requires_payment_method');
  assert.equal(got.last_payment_error.code, 'payment_intent_authentication_failure');
  assert.equal((await threeDSecure(pi)).result, 'failed');
});

test('frictionless: succeeds inside the confirmation', async () => {
  const pi = await confirmed('pm_card_threeDSecureOptional');
  assert.equal(pi.status, 'succeeded');
  const tds = await threeDSecure(pi);
  assert.equal(tds.result, 'authenticated');
  assert.equal(tds.authentication_flow, 'frictionless');
});

test('not enrolled: request_three_d_secure=any on 4242 succeeds without a challenge', async () => {
  const pi = await confirmed('pm_card_visa', { payment_method_options: { card: { request_three_d_secure: 'any' } } });
  assert.equal(pi.status, 'succeeded');
  assert.equal(pi.payment_method_options.card.request_three_d_secure, 'any');
  const tds = await threeDSecure(pi);
  assert.equal(tds.result, 'not_supported');
  assert.equal(tds.result_reason, 'card_not_enrolled');
});

test('off-session: authentication_required, then confirmed on-session', async () => {
  let err;
  try {
    await stripe.paymentIntents.create({ amount: 1500, currency: 'gbp', payment_method: 'pm_card_authenticationRequired', confirm: true, off_session: true });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof Stripe.errors.StripeCardError, `got ${err}`);
  assert.equal(err.code, 'authentication_required');
  assert.equal(err.decline_code, 'authentication_required');
  assert.equal(err.payment_intent.status, 'requires_payment_method');
  const pi = await stripe.paymentIntents.confirm(err.payment_intent.id, { return_url: RETURN_URL });
  assert.equal(pi.status, 'requires_action');
});

test('a tampered client secret is refused', async () => {
  const pi = await confirmed('pm_card_threeDSecure2Required');
  await assert.rejects(stripe.paymentIntents.retrieve(pi.id, { client_secret: pi.client_secret + 'x' }), (e) => {
    assert.ok(e instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(e.param, 'client_secret');
    return true;
  });
  assert.equal((await stripe.paymentIntents.retrieve(pi.id)).status, 'requires_action');
});

test('setup intents: authenticated once on set-up, then off-session payments go through', async () => {
  const customer = await stripe.customers.create();
  const si = await stripe.setupIntents.create({
    customer: customer.id, payment_method: 'pm_card_authenticationRequiredOnSetup', confirm: true, return_url: RETURN_URL, usage: 'off_session',
  });
  assert.equal(si.status, 'requires_action');
  assert.match(si.id, /^seti_/);
  const back = await authenticate(si.next_action.redirect_to_url.url, 'Y');
  assert.equal(back.searchParams.get('setup_intent'), si.id);
  assert.equal(back.searchParams.get('setup_intent_client_secret'), si.client_secret);
  assert.equal(back.searchParams.get('redirect_status'), 'succeeded');
  const got = await stripe.setupIntents.retrieve(si.id);
  assert.equal(got.status, 'succeeded');
  const pi = await stripe.paymentIntents.create({
    amount: 900, currency: 'gbp', customer: customer.id, payment_method: got.payment_method, confirm: true, off_session: true,
  });
  assert.equal(pi.status, 'succeeded');
});
