// Package framework is the scheduler's plugin framework: the extension-point interfaces a
// scheduling policy implements, the Status they return, the per-cycle CycleState, the NodeInfo
// snapshot they judge, and the Framework that runs a profile's plugins (filters and scores in
// parallel over nodes, each plugin deciding for one pod on one node).
package framework

import (
	"errors"
	"strings"
)

// Code is the outcome of a plugin call.
type Code int

// Status codes, as upstream's.
const (
	// Success: the plugin is happy.
	Success Code = iota
	// Error: an internal error; the pod is retried with backoff.
	Error
	// Unschedulable: the node does not fit now, but preempting pods might make it fit.
	Unschedulable
	// UnschedulableAndUnresolvable: the node does not fit and preemption cannot help.
	UnschedulableAndUnresolvable
	// Skip: from PreFilter/PreScore, the plugin has nothing to say about this pod.
	Skip
)

var codeNames = [...]string{"Success", "Error", "Unschedulable", "UnschedulableAndUnresolvable", "Skip"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Unknown"
}

// Status is a plugin's verdict. A nil *Status means Success.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus returns a status with the given code and user-visible reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// AsStatus wraps an internal error; nil stays Success.
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code returns the status code; Success for nil.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports a nil or Success status.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports Skip.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected reports Unschedulable or UnschedulableAndUnresolvable.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons are the user-visible reasons, one per failed check.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// Plugin names the plugin that produced the status ("" until the framework records it).
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin records the producing plugin and returns s.
func (s *Status) WithPlugin(name string) *Status {
	if s != nil {
		s.plugin = name
	}
	return s
}

// AsError returns the status as an error (nil for Success and Skip).
func (s *Status) AsError() error {
	if s.IsSuccess() || s.IsSkip() {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	return errors.New(s.Message())
}
