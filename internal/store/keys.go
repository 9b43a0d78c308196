package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/calmony/calmonypay/internal/pay"
	"github.com/calmony/calmonypay/internal/secret"
)

// ErrWrongKey means the database holds values sealed under a master key
// that the keyring does not have.
var ErrWrongKey = errors.New("store: the encryption key does not open this database's data")

// A purpose is one keyring's use: personal data, or webhook signing secrets.
type purpose struct {
	name    string
	keys    *secret.Keyring
	webhook bool // its values are the sealed columns marked webhook
}

// purposes are the keyrings to check. The webhook keyring is checked only
// when one was given: tools that never touch webhooks share the data one.
func (db *DB) purposes() []purpose {
	ps := []purpose{{name: "data", keys: db.keys}}
	if db.whKeys != db.keys {
		ps = append(ps, purpose{name: "webhook", keys: db.whKeys, webhook: true})
	}
	return ps
}

// adoptKeys checks the keyrings against the master keys the database has
// recorded, and records the current ones. Every recorded key must be in the
// keyring (the current key, or an old one during a rotation), else it fails
// with ErrWrongKey naming the missing check values; a database that
// recorded none is checked by opening a sealed value of it. The data
// keyring takes the database's blind-index and MAC keys, so that email
// lookups and fingerprints survive a rotation.
func (db *DB) adoptKeys(ctx context.Context) error {
	for _, p := range db.purposes() {
		if err := db.adopt(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) adopt(ctx context.Context, p purpose) error {
	recorded, err := db.recordedKeys(ctx, p.name)
	if err != nil {
		return err
	}
	checks := p.keys.Checks()
	if len(recorded) == 0 {
		// Written before keys were recorded: with the index keys of the
		// master key that opens its data.
		which, err := db.openSample(ctx, p)
		if err != nil {
			return err
		}
		if err := p.keys.SetIndexKeys(p.keys.DerivedIndexKeys(which)); err != nil {
			return err
		}
	}
	var missing []string
	for check, sealed := range recorded {
		i := slices.Index(checks, check)
		if i < 0 {
			missing = append(missing, check)
			continue
		}
		if p.name == "data" && sealed != nil {
			index, err := p.keys.Open(sealed, indexKeysAAD(check))
			if err == nil {
				err = p.keys.SetIndexKeys(index)
			}
			if err != nil {
				return fmt.Errorf("store: index keys of key %s: %w", check, err)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("%w: it holds %s values sealed under the key(s) with check value %s, and the key given has check value %s "+
			"(during a rotation, give the old key too)", ErrWrongKey, p.name, strings.Join(missing, ", "), checks[0])
	}
	if _, ok := recorded[checks[0]]; ok {
		return nil
	}
	// A new current key (a first start, or a rotation beginning): record
	// it, with the index keys sealed under it.
	return db.Tx(ctx, func(tx *Tx) error {
		var sealed []byte
		if p.name == "data" {
			sealed = p.keys.Seal(p.keys.IndexKeys(), indexKeysAAD(checks[0]))
		}
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO encryption_keys (purpose, check_value, created, index_keys) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, p.name, checks[0], tx.unix(), sealed)
		return err
	})
}

func indexKeysAAD(check string) []byte { return []byte("encryption_keys/" + check + "/index_keys") }

// recordedKeys returns the recorded keys of a purpose: check value to
// sealed index keys.
func (db *DB) recordedKeys(ctx context.Context, name string) (map[string][]byte, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT check_value, index_keys FROM encryption_keys WHERE purpose = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("store: recorded keys: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var (
			check  string
			sealed []byte
		)
		if err := rows.Scan(&check, &sealed); err != nil {
			return nil, err
		}
		out[check] = sealed
	}
	return out, rows.Err()
}

// openSample opens a sealed value of a purpose, if the database has any,
// to check a key against a database that recorded none (one written before
// keys were recorded), and says which of the keyring's master keys opened
// it (0, the current one, when there is none).
func (db *DB) openSample(ctx context.Context, p purpose) (int, error) {
	for _, c := range sealedColumns() {
		if c.webhook != p.webhook {
			continue
		}
		key := newKey(c.key)
		var sealed []byte
		err := db.read.QueryRowContext(ctx, fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s IS NOT NULL LIMIT 1`,
			strings.Join(c.key, ", "), c.column, c.table, c.column)).Scan(append(key, &sealed)...)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("store: check the %s key: %w", p.name, err)
		}
		_, which, err := p.keys.OpenWhich(sealed, c.aad(key))
		if err != nil {
			return 0, fmt.Errorf("%w: the %s key given (check value %s) does not open %s.%s of %v",
				ErrWrongKey, p.name, p.keys.Checks()[0], c.table, c.column, deref(key))
		}
		return which, nil
	}
	return 0, nil
}

// sealedColumn is a column of sealed values, found by key columns, and the
// additional data each is sealed with.
type sealedColumn struct {
	table, column string
	webhook       bool     // sealed with the webhook keyring
	key           []string // the key columns, all text but idempotency_keys' livemode
	aad           func(key []any) []byte
}

// sealedColumns lists every sealed value the database holds.
func sealedColumns() []sealedColumn {
	byID := func(table, column string, aad func(id string) []byte) sealedColumn {
		return sealedColumn{table: table, column: column, key: []string{"id"}, aad: func(k []any) []byte { return aad(*k[0].(*string)) }}
	}
	col := func(kind, table, column, name string) sealedColumn {
		return byID(table, column, func(id string) []byte { return sealAAD(kind, id, name) })
	}
	wh := func(column string) sealedColumn {
		c := byID("webhook_endpoints", column, webhookSecretAAD)
		c.webhook = true
		return c
	}
	return []sealedColumn{
		byID("customers", "pii", piiAAD),
		byID("events", "data", eventAAD),
		col("ch", "charges", "xref", "xref"), col("ch", "charges", "gateway", "gateway"),
		col("cs", "checkout_sessions", "customer_email", "email"),
		col("op", "gateway_ops", "request", "request"),
		col("pi", "payment_intents", "receipt_email", "receipt_email"), col("pi", "payment_intents", "client_secret", "client_secret"),
		col("pi", "payment_intents", "three_d_secure", "three_d_secure"),
		col("seti", "setup_intents", "client_secret", "client_secret"), col("seti", "setup_intents", "three_d_secure", "three_d_secure"),
		col("pm", "payment_methods", "billing", "billing"), col("pm", "payment_methods", "xref", "xref"),
		{table: "idempotency_keys", column: "response", key: []string{"project_id", "livemode", "key"}, aad: func(k []any) []byte {
			return idemAAD(IdemKey{Scope: pay.Scope{ProjectID: *k[0].(*string), Livemode: *k[1].(*bool)}, Key: *k[2].(*string)})
		}},
		wh("secret"), wh("previous_secret"),
	}
}

// Reencrypt seals every stored value again under the current master keys,
// a batch at a time, each batch in a transaction of its own; values written
// meanwhile are sealed under the current keys already, and a value changed
// between its reading and its update is left as the change wrote it. Then
// it forgets the older keys, which the database no longer needs. It reports
// how many values it sealed again. Run it once every instance has the new
// keys.
func (db *DB) Reencrypt(ctx context.Context) (int, error) {
	total := 0
	for _, c := range sealedColumns() {
		keys := db.keys
		if c.webhook {
			keys = db.whKeys
		}
		n, err := db.reencrypt(ctx, c, keys)
		total += n
		if err != nil {
			return total, fmt.Errorf("store: re-encrypt %s.%s: %w", c.table, c.column, err)
		}
	}
	err := db.Tx(ctx, func(tx *Tx) error {
		for _, p := range db.purposes() {
			if _, err := tx.tx.ExecContext(ctx, `DELETE FROM encryption_keys WHERE purpose = $1 AND check_value <> $2`, p.name, p.keys.Checks()[0]); err != nil {
				return err
			}
		}
		return nil
	})
	return total, err
}

const reencryptBatch = 500

func (db *DB) reencrypt(ctx context.Context, c sealedColumn, keys *secret.Keyring) (int, error) {
	keyCols := strings.Join(c.key, ", ")
	var after []any // the last key read, for the next batch
	total := 0
	for {
		q := fmt.Sprintf(`SELECT %s, %s FROM %s WHERE %s IS NOT NULL`, keyCols, c.column, c.table, c.column)
		if after != nil {
			q += fmt.Sprintf(` AND (%s) > (%s)`, keyCols, placeholders(1, len(c.key)))
		}
		q += fmt.Sprintf(` ORDER BY %s LIMIT %d`, keyCols, reencryptBatch)
		type value struct {
			key    []any
			sealed []byte
		}
		var batch []value
		rows, err := db.read.QueryContext(ctx, q, after...)
		if err != nil {
			return total, err
		}
		for rows.Next() {
			v := value{key: newKey(c.key)}
			if err := rows.Scan(append(v.key, &v.sealed)...); err != nil {
				rows.Close()
				return total, err
			}
			batch = append(batch, v)
		}
		if err := rows.Close(); err != nil {
			return total, err
		}
		if len(batch) == 0 {
			return total, nil
		}
		err = db.Tx(ctx, func(tx *Tx) error {
			for _, v := range batch {
				pt, which, err := keys.OpenWhich(v.sealed, c.aad(v.key))
				if err != nil {
					return fmt.Errorf("%v: %w", deref(v.key), err)
				}
				if which == 0 {
					continue
				}
				args := append([]any{keys.Seal(pt, c.aad(v.key)), v.sealed}, deref(v.key)...)
				where := make([]string, len(c.key))
				for i, k := range c.key {
					where[i] = fmt.Sprintf("%s = $%d", k, i+3)
				}
				if _, err := tx.tx.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND %s`,
					c.table, c.column, c.column, strings.Join(where, " AND ")), args...); err != nil {
					return err
				}
				total++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		after = deref(batch[len(batch)-1].key)
	}
}

// newKey makes scan targets for key columns: text, but idempotency_keys'
// livemode.
func newKey(cols []string) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		if c == "livemode" {
			out[i] = new(bool)
		} else {
			out[i] = new(string)
		}
	}
	return out
}

func deref(key []any) []any {
	out := make([]any, len(key))
	for i, k := range key {
		switch v := k.(type) {
		case *string:
			out[i] = *v
		case *bool:
			out[i] = *v
		}
	}
	return out
}

// placeholders returns "$from, …" for n arguments.
func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(ps, ", ")
}
