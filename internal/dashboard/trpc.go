package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/calmony/calmonypay/internal/middleware"
	"github.com/calmony/calmonypay/internal/pay"
)

// The tRPC 11 HTTP wire format, without a transformer (what @trpc/client's
// httpLink and httpBatchLink speak):
//
//   - a query is GET /api/trpc/<path>?input=<JSON>, a mutation POST
//     /api/trpc/<path> with the JSON input as its body (no input: omitted);
//   - a batch is ?batch=1 with comma-joined paths, its inputs an object
//     keyed "0", "1", … (the GET input, or the POST body), and its answer an
//     array in the same order, with 207 when the entries' statuses differ;
//   - success is {"result":{"data":…}}; failure is {"error":{"message",
//     "code" (JSON-RPC), "data":{"code","httpStatus","path"}}}.

// maxInput bounds a tRPC request's body and input.
const maxInput = 1 << 20

// procedure is one tRPC procedure.
type procedure struct {
	mutation bool
	// least is the least role that may call it.
	least pay.Role
	run   func(ctx context.Context, c *call, input json.RawMessage) (any, error)
}

// call is one procedure's call: who makes it, and the request.
type call struct {
	*principal
	r *http.Request
}

// query and mutation make procedures from typed functions: the input is
// decoded strictly (unknown fields refused), then checked by its validate
// method if it has one.
func query[In, Out any](least pay.Role, fn func(ctx context.Context, c *call, in In) (Out, error)) procedure {
	return procedure{least: least, run: typed(fn)}
}

func mutation[In, Out any](least pay.Role, fn func(ctx context.Context, c *call, in In) (Out, error)) procedure {
	return procedure{mutation: true, least: least, run: typed(fn)}
}

// validator is an input that checks itself after decoding.
type validator interface{ validate() error }

func typed[In, Out any](fn func(ctx context.Context, c *call, in In) (Out, error)) func(context.Context, *call, json.RawMessage) (any, error) {
	return func(ctx context.Context, c *call, raw json.RawMessage) (any, error) {
		var in In
		if len(raw) > 0 && string(raw) != "null" {
			if err := decodeInput(raw, &in); err != nil {
				return nil, err
			}
		}
		if v, ok := any(&in).(validator); ok {
			if err := v.validate(); err != nil {
				return nil, err
			}
		}
		return fn(ctx, c, in)
	}
}

// decodeInput decodes a JSON input strictly, naming the field at fault.
func decodeInput(raw json.RawMessage, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	err := d.Decode(v)
	if err == nil && d.More() {
		err = errors.New("trailing data")
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return badRequest(typeErr.Field, fmt.Sprintf("%s must be %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String())))
	case errors.As(err, &typeErr):
		return badRequest("", "The input must be a JSON object.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(field, "Unknown field: "+field+".")
	default:
		return badRequest("", "The input is not valid JSON.")
	}
}

// jsonKind names a Go kind as a JSON type.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "bool":
		return "true or false"
	case kind == "string":
		return "a string"
	case kind == "slice":
		return "an array"
	default:
		return "an object"
	}
}

// serveTRPC serves /api/trpc/<path>.
func (s *Server) serveTRPC(w http.ResponseWriter, r *http.Request) {
	paths := strings.TrimPrefix(r.URL.Path, "/api/trpc/")
	batch := r.URL.Query().Get("batch") == "1"
	var names []string
	if batch {
		names = strings.Split(paths, ",")
	} else {
		names = []string{paths}
	}
	inputs, err := readInputs(r, batch, len(names))
	var answers []any
	var statuses []int
	if err != nil {
		for _, name := range names {
			a, st := s.errorAnswer(r, name, err)
			answers, statuses = append(answers, a), append(statuses, st)
		}
	} else {
		p, authErr := s.signedIn(r)
		for i, name := range names {
			a, st := s.runProcedure(r, p, authErr, name, inputs[i])
			answers, statuses = append(answers, a), append(statuses, st)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	if !batch {
		writeJSON(w, statuses[0], answers[0])
		return
	}
	status := statuses[0]
	for _, st := range statuses[1:] {
		if st != status {
			status = http.StatusMultiStatus
		}
	}
	writeJSON(w, status, answers)
}

// readInputs returns the raw input of each of n procedures.
func readInputs(r *http.Request, batch bool, n int) ([]json.RawMessage, error) {
	var raw []byte
	switch r.Method {
	case http.MethodGet:
		if v := r.URL.Query().Get("input"); v != "" {
			raw = []byte(v)
		}
	case http.MethodPost:
		b, err := io.ReadAll(io.LimitReader(r.Body, maxInput+1))
		if err != nil {
			return nil, badRequest("", "The request body could not be read.")
		}
		raw = b
	default:
		return nil, &trpcError{code: "METHOD_NOT_SUPPORTED", message: "Use GET for queries and POST for mutations."}
	}
	if len(raw) > maxInput {
		return nil, &trpcError{code: "PAYLOAD_TOO_LARGE", message: "The input is too large."}
	}
	if !batch {
		return []json.RawMessage{raw}, nil
	}
	inputs := make([]json.RawMessage, n)
	if len(bytes.TrimSpace(raw)) == 0 {
		return inputs, nil
	}
	var byIndex map[string]json.RawMessage
	if err := json.Unmarshal(raw, &byIndex); err != nil {
		return nil, &trpcError{code: "PARSE_ERROR", message: `A batch's input must be a JSON object keyed "0", "1", ….`}
	}
	for k, v := range byIndex {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= n || strconv.Itoa(i) != k {
			return nil, badRequest(k, fmt.Sprintf("The batch has no procedure %q.", k))
		}
		inputs[i] = v
	}
	return inputs, nil
}

// runProcedure calls one procedure and returns its envelope and status.
func (s *Server) runProcedure(r *http.Request, p *principal, authErr error, name string, input json.RawMessage) (any, int) {
	proc, ok := s.procs[name]
	switch {
	case !ok:
		return s.errorAnswer(r, name, &trpcError{code: "NOT_FOUND", message: fmt.Sprintf("No procedure found on path %q", name)})
	case proc.mutation && r.Method != http.MethodPost, !proc.mutation && r.Method != http.MethodGet:
		return s.errorAnswer(r, name, &trpcError{code: "METHOD_NOT_SUPPORTED", message: "Use GET for queries and POST for mutations."})
	case authErr != nil:
		return s.errorAnswer(r, name, authErr)
	case !p.may(proc.least):
		return s.errorAnswer(r, name, forbidden(proc.least))
	}
	if len(input) > 0 && !json.Valid(input) {
		return s.errorAnswer(r, name, &trpcError{code: "PARSE_ERROR", message: "The input is not valid JSON."})
	}
	out, err := proc.run(r.Context(), &call{principal: p, r: r}, input)
	if err != nil {
		return s.errorAnswer(r, name, err)
	}
	return map[string]any{"result": map[string]any{"data": out}}, http.StatusOK
}

// errorAnswer turns err into tRPC's error envelope and status. Errors that
// are not the caller's are logged and masked (SEC-23).
func (s *Server) errorAnswer(r *http.Request, path string, err error) (any, int) {
	te := asTRPCError(err)
	if te.code == "INTERNAL_SERVER_ERROR" {
		s.log.ErrorContext(r.Context(), "dashboard procedure failed", "path", path, "request_id", middleware.RequestIDFrom(r.Context()), "err", err)
	}
	c := trpcCodes[te.code]
	data := map[string]any{"code": te.code, "httpStatus": c.status, "path": path}
	if te.field != "" {
		data["field"] = te.field
	}
	return map[string]any{"error": map[string]any{"message": te.message, "code": c.rpc, "data": data}}, c.status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client may be gone
}
