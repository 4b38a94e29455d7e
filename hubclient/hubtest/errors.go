package hubtest

import (
	"encoding/json"
	"net/http"
)

// Error codes the Hub sends in X-Error-Code.
const (
	codeRepoNotFound     = "RepoNotFound"
	codeRevisionNotFound = "RevisionNotFound"
	codeEntryNotFound    = "EntryNotFound"
)

// msgBadToken is the Hub's X-Error-Message for an invalid token; clients tell
// a bad token from a hidden repo by this exact text.
const msgBadToken = "Invalid credentials in Authorization header"

// writeError answers with the Hub's error format: the status, X-Error-Code
// (when code is set), X-Error-Message and a JSON body {"error": msg}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	if code != "" {
		h.Set("X-Error-Code", code)
	}
	h.Set("X-Error-Message", msg)
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// apiError is an error that knows how the Hub would answer it.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errBadRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: msg}
}

func errForbidden(msg string) *apiError {
	return &apiError{status: http.StatusForbidden, msg: msg}
}

func errRevisionNotFound(rev string) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeRevisionNotFound, msg: "Invalid rev id: " + rev}
}

func errEntryNotFound(path string) *apiError {
	return &apiError{status: http.StatusNotFound, code: codeEntryNotFound, msg: "Entry not found: " + path}
}

// writeAPIError answers err: an *apiError as the Hub would, anything else as
// a 500 that names the failure.
func writeAPIError(w http.ResponseWriter, err error) {
	if e, ok := err.(*apiError); ok {
		writeError(w, e.status, e.code, e.msg)
		return
	}
	writeError(w, http.StatusInternalServerError, "", "fake hub: "+err.Error())
}
