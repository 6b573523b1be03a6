package validation

import (
	"sort"
	"strings"
	"testing"

	"github.com/klite/klite/internal/apiserver/defaults"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// wantErr is one expected error: its type, its field path and, optionally,
// a substring of its message.
type wantErr struct {
	typ   field.ErrorType
	field string
	msg   string
}

func required(f string) wantErr           { return wantErr{typ: field.ErrorTypeRequired, field: f} }
func invalid(f string) wantErr            { return wantErr{typ: field.ErrorTypeInvalid, field: f} }
func forbidden(f string) wantErr          { return wantErr{typ: field.ErrorTypeForbidden, field: f} }
func notSupported(f string) wantErr       { return wantErr{typ: field.ErrorTypeNotSupported, field: f} }
func duplicate(f string) wantErr          { return wantErr{typ: field.ErrorTypeDuplicate, field: f} }
func notFound(f string) wantErr           { return wantErr{typ: field.ErrorTypeNotFound, field: f} }
func (w wantErr) with(msg string) wantErr { w.msg = msg; return w }

// errCase validates obj (against old, for updates) and expects exactly the
// listed errors.
type errCase struct {
	name string
	obj  runtime.Object
	old  runtime.Object
	want []wantErr
}

type validateFunc func(obj, old runtime.Object) field.ErrorList

func create(obj, _ runtime.Object) field.ErrorList { return ValidateCreate(obj) }

func runCases(t *testing.T, validate validateFunc, cases []errCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			expectErrors(t, validate(tc.obj, tc.old), tc.want)
		})
	}
}

func expectErrors(t *testing.T, errs field.ErrorList, want []wantErr) {
	t.Helper()
	got := make([]string, 0, len(errs))
	for _, e := range errs {
		got = append(got, string(e.Type)+" "+e.Field)
	}
	exp := make([]string, 0, len(want))
	for _, w := range want {
		exp = append(exp, string(w.typ)+" "+w.field)
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Fatalf("errors:\n  got  %q\n  want %q\nfull: %v", got, exp, errs.ToAggregate())
	}
	for _, w := range want {
		if w.msg == "" {
			continue
		}
		if !hasMessage(errs, w) {
			t.Errorf("no %s error on %s containing %q in: %v", w.typ, w.field, w.msg, errs.ToAggregate())
		}
	}
}

func hasMessage(errs field.ErrorList, w wantErr) bool {
	for _, e := range errs {
		if e.Type == w.typ && e.Field == w.field && strings.Contains(e.Error(), w.msg) {
			return true
		}
	}
	return false
}

// defaulted applies the API server's defaults, as the caller does before
// validating, and returns obj.
func defaulted[T runtime.Object](obj T) T {
	defaults.Apply(obj)
	return obj
}

func ptr[T any](v T) *T { return &v }

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
