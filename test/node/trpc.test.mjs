// Drives the dashboard's tRPC API (/api/trpc) of a running Calmony Pay
// server with the real tRPC client (npm @trpc/client 11.25.2, pinned in
// package.json, no transformer), through httpLink and httpBatchLink: a
// query, a batch, a mutation (a refund) and errors as TRPCClientError. The
// Go tests of the same procedures are internal/dashboard/money_test.go.
//
// Run by internal/api/node_sdk_test.go (go test ./internal/api -run TestNodeSDK),
// which starts a server and sets, besides CALMONY_URL and CALMONY_KEY:
//   CALMONY_DASHBOARD_COOKIE         an admin's dashboard session (the
//                                    calmony_session cookie's value)
//   CALMONY_DASHBOARD_VIEWER_COOKIE  a viewer's, in the same project
// The tests are skipped without them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';

const { CALMONY_URL, CALMONY_KEY, CALMONY_DASHBOARD_COOKIE, CALMONY_DASHBOARD_VIEWER_COOKIE } = process.env;
if (!CALMONY_URL || !CALMONY_KEY) {
  throw new Error(
    'CALMONY_URL and CALMONY_KEY must be set; run these tests with: go test ./internal/api -run TestNodeSDK',
  );
}
const skip = !CALMONY_DASHBOARD_COOKIE || !CALMONY_DASHBOARD_VIEWER_COOKIE
  ? 'CALMONY_DASHBOARD_COOKIE and CALMONY_DASHBOARD_VIEWER_COOKIE are not set'
  : false;

const base = new URL(CALMONY_URL);
const url = new URL('/api/trpc', base).toString();
const stripe = new Stripe(CALMONY_KEY, {
  host: base.hostname,
  port: Number(base.port),
  protocol: 'http',
  apiVersion: '2026-03-25.dahlia',
  maxNetworkRetries: 0,
});

// counting wraps fetch to count the HTTP requests a client makes.
function counting() {
  const calls = [];
  const fetchCounted = (input, init) => {
    calls.push({ url: String(input), method: init?.method ?? 'GET' });
    return fetch(input, init);
  };
  return { calls, fetch: fetchCounted };
}

// trpc is a tRPC client signed in with cookie ('' for none) over link
// (httpLink or httpBatchLink).
function trpc(link, cookie, f = fetch) {
  return createTRPCClient({
    links: [link({ url, fetch: f, headers: () => (cookie ? { cookie: `calmony_session=${cookie}` } : {}) })],
  });
}

// aPayment makes a succeeded £15.00 card payment through /v1.
async function aPayment(amount = 1500) {
  const pi = await stripe.paymentIntents.create({
    amount,
    currency: 'gbp',
    payment_method: 'pm_card_visa',
    confirm: true,
    description: `trpc ${randomUUID().slice(0, 8)}`,
  });
  assert.equal(pi.status, 'succeeded');
  return pi;
}

// rejectsWith awaits promise and checks it rejects with a TRPCClientError
// whose data has the code (and the field, if given); it returns the error.
async function rejectsWith(promise, code, field, what) {
  let caught;
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof TRPCClientError, `${what}: got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.data?.code, code, `${what}: data.code (message: ${err.message})`);
    if (field) assert.equal(err.data?.field, field, `${what}: data.field`);
    assert.ok(err.message, `${what}: a message`);
    caught = err;
    return true;
  });
  return caught;
}

test('a query through httpLink', { skip }, async () => {
  const client = trpc(httpLink, CALMONY_DASHBOARD_COOKIE);
  const me = await client.session.get.query();
  assert.equal(me.role, 'admin');
  assert.equal(me.livemode, false);
  assert.match(me.user.email, /@/);

  const pi = await aPayment(1234);
  const got = await client.payments.get.query({ id: pi.id });
  assert.equal(got.payment.id, pi.id);
  assert.equal(got.payment.amount, 1234);
  assert.equal(got.payment.status, 'succeeded');
  assert.equal(got.charges.length, 1);
  assert.equal(got.charges[0].card.last4, '4242');
  assert.equal(got.refundable, 1234);
  assert.ok(got.timeline.some((e) => e.source === 'gateway' && e.type === 'sale' && e.state === 'done'));
  assert.ok(!JSON.stringify(got).includes('secret'), 'no client secret');
});

test('a batch through httpBatchLink: one request, answers in order, a failure among them', { skip }, async () => {
  const pi = await aPayment(2345);
  const { calls, fetch: f } = counting();
  const client = trpc(httpBatchLink, CALMONY_DASHBOARD_COOKIE, f);
  const [list, one, summary, missing] = await Promise.allSettled([
    client.payments.list.query({ amountMin: 2345, amountMax: 2345, limit: 100 }),
    client.payments.get.query({ id: pi.id }),
    client.overview.summary.query({ days: 7 }),
    client.payments.get.query({ id: 'pi_doesnotexist' }),
  ]);
  assert.equal(calls.length, 1, `one HTTP request for the batch: ${JSON.stringify(calls)}`);
  assert.match(calls[0].url, /\/api\/trpc\/payments\.list,payments\.get,overview\.summary,payments\.get\?batch=1&input=/);
  assert.equal(list.status, 'fulfilled');
  assert.ok(list.value.data.some((p) => p.id === pi.id), 'the list has the payment');
  assert.equal(typeof list.value.hasMore, 'boolean');
  assert.equal(one.status, 'fulfilled');
  assert.equal(one.value.payment.amount, 2345);
  assert.equal(summary.status, 'fulfilled');
  assert.equal(summary.value.days, 7);
  assert.equal(summary.value.daily.length, 7);
  const gbp = summary.value.revenue.find((r) => r.currency === 'gbp');
  assert.ok(gbp && gbp.amount >= 2345 && gbp.count >= 1, `revenue: ${JSON.stringify(summary.value.revenue)}`);
  assert.equal(missing.status, 'rejected');
  assert.ok(missing.reason instanceof TRPCClientError);
  assert.equal(missing.reason.data.code, 'NOT_FOUND');
  assert.equal(missing.reason.data.httpStatus, 404);
  assert.equal(missing.reason.data.path, 'payments.get');
});

test('a mutation: a refund, replayed with its idempotency key', { skip }, async () => {
  const pi = await aPayment(3000);
  const idempotencyKey = `node-${randomUUID()}`;
  for (const link of [httpLink, httpBatchLink]) {
    const client = trpc(link, CALMONY_DASHBOARD_COOKIE);
    const out = await client.payments.refund.mutate({ id: pi.id, amount: 500, reason: 'requested_by_customer', idempotencyKey });
    assert.equal(out.refund.amount, 500);
    assert.equal(out.refund.status, 'succeeded');
    assert.equal(out.payment.refundable, 2500);
  }
  const refunds = await stripe.refunds.list({ payment_intent: pi.id });
  assert.equal(refunds.data.length, 1, 'one refund for two calls with one key');
  assert.equal(refunds.data[0].amount, 500);
  assert.equal(refunds.data[0].reason, 'requested_by_customer');
});

test('errors are TRPCClientError with data.code', { skip }, async () => {
  const admin = trpc(httpLink, CALMONY_DASHBOARD_COOKIE);
  const err = await rejectsWith(admin.payments.get.query({ id: 'pi_nope' }), 'NOT_FOUND', '', 'an unknown payment');
  assert.equal(err.data.httpStatus, 404);
  assert.equal(err.shape.code, -32004);
  await rejectsWith(admin.payments.list.query({ limit: 500 }), 'BAD_REQUEST', 'limit', 'limit 500');
  await rejectsWith(admin.payments.list.query({ status: 'paid' }), 'BAD_REQUEST', 'status', 'an unknown status');
  const pi = await aPayment(1000);
  await rejectsWith(admin.payments.refund.mutate({ id: pi.id, amount: 100 }), 'BAD_REQUEST', 'idempotencyKey', 'a refund without a key');
  await rejectsWith(admin.payments.refund.mutate({ id: pi.id, amount: 5000, idempotencyKey: `node-${randomUUID()}` }),
    'BAD_REQUEST', 'amount', 'a refund of more than was paid');

  // A viewer may look but not refund; signed out is UNAUTHORIZED.
  const viewer = trpc(httpBatchLink, CALMONY_DASHBOARD_VIEWER_COOKIE);
  assert.equal((await viewer.payments.get.query({ id: pi.id })).payment.id, pi.id);
  await rejectsWith(viewer.payments.refund.mutate({ id: pi.id, idempotencyKey: `node-${randomUUID()}` }), 'FORBIDDEN', '', 'a viewer\'s refund');
  await rejectsWith(trpc(httpLink, '').payments.list.query({}), 'UNAUTHORIZED', '', 'signed out');
  const refunds = await stripe.refunds.list({ payment_intent: pi.id });
  assert.equal(refunds.data.length, 0, 'the refused refunds refunded nothing');
});
