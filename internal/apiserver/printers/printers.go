package printers

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Printer renders one kind as table rows.
type Printer struct {
	Columns []metav1.TableColumnDefinition
	// Cells returns one row's cells, aligned with Columns, for obj (a typed k8s.io/api object).
	Cells func(obj runtime.Object, now time.Time) ([]interface{}, error)
}

// Values of ToTable's includeObject, as in metav1.TableOptions.IncludeObject.
const (
	includeNone     = string(metav1.IncludeNone)
	includeMetadata = string(metav1.IncludeMetadata)
	includeObject   = string(metav1.IncludeObject)
)

// For returns the printer of a kind, or the default (Name, Created At) printer.
func For(gk schema.GroupKind) Printer {
	if p, ok := kindPrinter(gk); ok {
		return p
	}
	return defaultPrinter()
}

// kindPrinter returns the printer written for gk, if there is one.
func kindPrinter(gk schema.GroupKind) (Printer, bool) {
	switch gk.Group {
	case "":
		return corePrinter(gk.Kind)
	case "apps":
		return appsPrinter(gk.Kind)
	case "batch":
		return batchPrinter(gk.Kind)
	case "networking.k8s.io":
		return networkingPrinter(gk.Kind)
	case "rbac.authorization.k8s.io":
		return rbacPrinter(gk.Kind)
	case "events.k8s.io":
		return eventsPrinter(gk.Kind)
	}
	return otherPrinter(gk)
}

// ToTable builds a Table (with TypeMeta meta.k8s.io/v1 Table) from objs; each row's Object is set to
// the object itself (runtime.RawExtension{Object: obj}) when includeObject is "Object", to a
// PartialObjectMetadata (meta.k8s.io/v1) when "Metadata" (upstream's default), none when "None";
// noHeaders omits ColumnDefinitions (used for watch events after the first).
//
// An empty includeObject means "Metadata", as upstream. Rows of StorageClasses mark the
// effective default class of objs with " (default)", as upstream does for a list.
func ToTable(gk schema.GroupKind, objs []runtime.Object, now time.Time, includeObject string, noHeaders bool) (*metav1.Table, error) {
	p := For(gk)
	if isStorageClass(gk) {
		p = storageClassListPrinter(objs)
	}
	table := &metav1.Table{
		TypeMeta: metav1.TypeMeta{APIVersion: metav1.SchemeGroupVersion.String(), Kind: "Table"},
		Rows:     make([]metav1.TableRow, 0, len(objs)),
	}
	if !noHeaders {
		table.ColumnDefinitions = p.Columns
	}
	for _, obj := range objs {
		row, err := buildRow(gk, p, obj, now, includeObject)
		if err != nil {
			return nil, err
		}
		table.Rows = append(table.Rows, row)
	}
	return table, nil
}

// buildRow renders one object as a row carrying the object as includeObject asks.
func buildRow(gk schema.GroupKind, p Printer, obj runtime.Object, now time.Time, include string) (metav1.TableRow, error) {
	cells, err := p.Cells(obj, now)
	if err != nil {
		return metav1.TableRow{}, err
	}
	if len(cells) != len(p.Columns) {
		return metav1.TableRow{}, fmt.Errorf("printer for %T made %d cells for %d columns", obj, len(cells), len(p.Columns))
	}
	row := metav1.TableRow{Cells: cells, Conditions: rowConditions(gk, obj)}
	row.Object, err = rowObject(obj, include)
	return row, err
}

// rowObject is what a row carries of its object, per TableOptions.IncludeObject.
func rowObject(obj runtime.Object, include string) (runtime.RawExtension, error) {
	switch include {
	case includeObject:
		return runtime.RawExtension{Object: obj}, nil
	case includeMetadata, "":
		m, err := meta.Accessor(obj)
		if err != nil {
			return runtime.RawExtension{}, fmt.Errorf("object metadata of %T: %w", obj, err)
		}
		partial := meta.AsPartialObjectMetadata(m)
		partial.TypeMeta = metav1.TypeMeta{APIVersion: metav1.SchemeGroupVersion.String(), Kind: "PartialObjectMetadata"}
		return runtime.RawExtension{Object: partial}, nil
	case includeNone:
		return runtime.RawExtension{}, nil
	}
	return runtime.RawExtension{}, fmt.Errorf("unrecognized includeObject value: %q", include)
}

// cellsOf adapts a typed cell function to Printer.Cells. It accepts the typed object
// (*T) or an *unstructured.Unstructured holding the same kind.
func cellsOf[T any, PT interface {
	*T
	runtime.Object
}](f func(PT, time.Time) ([]interface{}, error)) func(runtime.Object, time.Time) ([]interface{}, error) {
	return func(obj runtime.Object, now time.Time) ([]interface{}, error) {
		typed, err := asTyped[T, PT](obj)
		if err != nil {
			return nil, err
		}
		return f(typed, now)
	}
}

// simpleCells adapts a typed cell function that cannot fail.
func simpleCells[T any, PT interface {
	*T
	runtime.Object
}](f func(PT, time.Time) []interface{}) func(runtime.Object, time.Time) ([]interface{}, error) {
	return cellsOf[T, PT](func(obj PT, now time.Time) ([]interface{}, error) {
		return f(obj, now), nil
	})
}

// asTyped returns obj as *T, converting it from unstructured content where needed.
func asTyped[T any, PT interface {
	*T
	runtime.Object
}](obj runtime.Object) (PT, error) {
	switch o := obj.(type) {
	case PT:
		return o, nil
	case *unstructured.Unstructured:
		typed := PT(new(T))
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.UnstructuredContent(), typed); err != nil {
			return nil, fmt.Errorf("convert %s to %T: %w", o.GroupVersionKind(), typed, err)
		}
		return typed, nil
	}
	return nil, fmt.Errorf("cannot print %T as %T", obj, PT(nil))
}

// cellFunc is the type of Printer.Cells.
type cellFunc = func(obj runtime.Object, now time.Time) ([]interface{}, error)
