package apiserver

import (
	"net/http"
	"net/http/pprof"
)

// profilingHandlers serve the process's Go profiles under /debug/pprof/ as kube-apiserver's
// --profiling does (`kubectl get --raw /debug/pprof/heap > heap.out`); nil when disabled.
func profilingHandlers(enabled bool) map[string]http.Handler {
	if !enabled {
		return nil
	}
	return map[string]http.Handler{
		"/debug/pprof/":        http.HandlerFunc(pprof.Index),
		"/debug/pprof/cmdline": http.HandlerFunc(pprof.Cmdline),
		"/debug/pprof/profile": http.HandlerFunc(pprof.Profile),
		"/debug/pprof/symbol":  http.HandlerFunc(pprof.Symbol),
		"/debug/pprof/trace":   http.HandlerFunc(pprof.Trace),
	}
}
