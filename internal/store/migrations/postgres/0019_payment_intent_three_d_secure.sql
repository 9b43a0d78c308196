-- 3-D Secure (issue 19): a payment intent's payment_method_options (the
-- request_three_d_secure it asked for) and, while it is requires_action,
-- its pending 3-D Secure step (the gateway's threeDSRef, the ACS to post
-- to, the page's token and the return_url), as JSON sealed with the
-- project keys like the client secret (the token is a credential).
ALTER TABLE payment_intents ADD COLUMN three_d_secure BYTEA;
